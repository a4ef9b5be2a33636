import { createHash } from 'node:crypto';

/**
 * Community ID flow hashing, version 1 (the Corelight specification,
 * github.com/corelight/community-id-spec), so flows join with Zeek, Suricata
 * and Arkime records of the same connection:
 *
 *   "1:" + base64(sha1(seed:u16 | src addr | dst addr | proto:u8 | 0:u8 | src port:u16 | dst port:u16))
 *
 * all big-endian, with the two endpoints ordered so that (src addr, src
 * port) is the smaller one (addresses compared bytewise, then ports), which
 * makes the ID the same for both directions. Ports are left out for
 * protocols without them (`null`). Only port-based protocols are handled
 * (ICMP's type/code mapping is not needed for TCP flows).
 */

/** Hash input: seed 2 + addresses 2 × 16 + proto 1 + pad 1 + ports 2 × 2. */
const input = Buffer.alloc(40);
const a = Buffer.alloc(16);
const b = Buffer.alloc(16);

function hash(len: number, addrLen: number, proto: number, portA: number | null, portB: number | null, seed: number): string {
  // Order the endpoints: the smaller (address, port) first.
  let cmp = a.compare(b, 0, addrLen, 0, addrLen);
  if (cmp === 0 && portA !== null && portB !== null) cmp = portA - portB;
  const swap = cmp > 0;
  let o = 0;
  input.writeUInt16BE(seed & 0xffff, o);
  o += 2;
  (swap ? b : a).copy(input, o, 0, addrLen);
  o += addrLen;
  (swap ? a : b).copy(input, o, 0, addrLen);
  o += addrLen;
  input[o++] = proto;
  input[o++] = 0;
  if (portA !== null && portB !== null) {
    input.writeUInt16BE(swap ? portB : portA, o);
    input.writeUInt16BE(swap ? portA : portB, o + 2);
    o += 4;
  }
  if (o !== len) throw new Error('community-id: bad input length');
  return '1:' + createHash('sha1').update(input.subarray(0, o)).digest('base64');
}

/** Community ID of an IPv4 flow; addresses as unsigned 32-bit numbers. */
export function communityId4(
  srcAddr: number,
  srcPort: number | null,
  dstAddr: number,
  dstPort: number | null,
  proto = 6,
  seed = 0,
): string {
  a.writeUInt32BE(srcAddr >>> 0, 0);
  b.writeUInt32BE(dstAddr >>> 0, 0);
  return hash(2 + 8 + 2 + (srcPort === null ? 0 : 4), 4, proto, srcPort, dstPort, seed);
}

/** Community ID of an IPv6 flow; addresses as four big-endian 32-bit words. */
export function communityId6(
  srcAddr: ArrayLike<number>,
  srcPort: number | null,
  dstAddr: ArrayLike<number>,
  dstPort: number | null,
  proto = 6,
  seed = 0,
): string {
  for (let i = 0; i < 4; i++) {
    a.writeUInt32BE(srcAddr[i] >>> 0, 4 * i);
    b.writeUInt32BE(dstAddr[i] >>> 0, 4 * i);
  }
  return hash(2 + 32 + 2 + (srcPort === null ? 0 : 4), 16, proto, srcPort, dstPort, seed);
}
