import * as crypto from 'node:crypto';

/**
 * One-shot SHA-1 as base64: crypto.hash (Node >= 20.12, no Hash object, about
 * 2.5x faster: this runs once per flow) where present, else createHash.
 */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Buffer, enc: 'base64') => string }).hash;
const sha1Base64 = oneShot !== undefined ? (b: Buffer) => oneShot('sha1', b, 'base64') : (b: Buffer) => crypto.createHash('sha1').update(b).digest('base64');

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

/** The two addresses as bytes (16 each; IPv4 uses the first 4). */
const a = new Uint8Array(16);
const b = new Uint8Array(16);
/** Hash inputs by length (v4 / v6, with or without ports), so no slice is made per call. */
const inputs = new Map<number, Buffer>([12, 16, 36, 40].map((n) => [n, Buffer.alloc(n)]));

/** Bytewise comparison of a and b over `len` bytes. */
function compare(len: number): number {
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** Per flow, not per packet; plain byte loops (Buffer.copy and subarray cost more than the hash here). */
function hash(addrLen: number, proto: number, portA: number | null, portB: number | null, seed: number): string {
  const ports = portA !== null && portB !== null;
  const input = inputs.get(2 + 2 * addrLen + 2 + (ports ? 4 : 0)) as Buffer;
  // Order the endpoints: the smaller (address, port) first.
  let cmp = compare(addrLen);
  if (cmp === 0 && ports) cmp = (portA as number) - (portB as number);
  const first = cmp > 0 ? b : a;
  const second = cmp > 0 ? a : b;
  input[0] = (seed >> 8) & 0xff;
  input[1] = seed & 0xff;
  let o = 2;
  for (let i = 0; i < addrLen; i++) input[o++] = first[i];
  for (let i = 0; i < addrLen; i++) input[o++] = second[i];
  input[o++] = proto;
  input[o++] = 0;
  if (ports) {
    const p1 = cmp > 0 ? (portB as number) : (portA as number);
    const p2 = cmp > 0 ? (portA as number) : (portB as number);
    input[o++] = p1 >> 8;
    input[o++] = p1 & 0xff;
    input[o++] = p2 >> 8;
    input[o++] = p2 & 0xff;
  }
  return '1:' + sha1Base64(input);
}

function put32(dst: Uint8Array, at: number, v: number): void {
  dst[at] = v >>> 24;
  dst[at + 1] = (v >>> 16) & 0xff;
  dst[at + 2] = (v >>> 8) & 0xff;
  dst[at + 3] = v & 0xff;
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
  put32(a, 0, srcAddr >>> 0);
  put32(b, 0, dstAddr >>> 0);
  return hash(4, proto, srcPort, dstPort, seed);
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
    put32(a, 4 * i, srcAddr[i] >>> 0);
    put32(b, 4 * i, dstAddr[i] >>> 0);
  }
  return hash(16, proto, srcPort, dstPort, seed);
}
