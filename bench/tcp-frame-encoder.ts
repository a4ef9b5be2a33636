/**
 * Encodes one Ethernet + IPv4/IPv6 + TCP frame into a pcap record. The
 * payload is a fixed text pattern (an HTTP request or response line) followed
 * by zero bytes, which makes the TCP checksum cheap to compute exactly; only
 * `caplen` bytes (the snaplen cut) are written.
 */

export const PAYLOAD_ZERO = 0;
export const PAYLOAD_REQUEST = 1;
export const PAYLOAD_RESPONSE = 2;

export const OPTS_NONE = 0;
export const OPTS_SYN = 1;
export const OPTS_TS = 2;

const PATTERNS: Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('GET /api/v1/items?page=2 HTTP/1.1\r\nHost: backend.internal\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n'),
  Buffer.from('HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n\r\n{"items":[]}'),
];
const PATTERN_SUMS = PATTERNS.map((p) => {
  const sums = new Float64Array(p.length + 1);
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    s += i % 2 === 0 ? p[i] << 8 : p[i];
    sums[i + 1] = s;
  }
  return sums;
});

/** The fields of one frame; a single instance is reused by the generator. */
export class FrameSpec {
  v6 = false;
  /** IPv4 addresses, or the last 32-bit word of fd00::/64 IPv6 addresses. */
  src = 0;
  dst = 0;
  /** Second-to-last IPv6 word (a subnet number), ignored for IPv4. */
  src6hi = 0;
  dst6hi = 0;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  payloadLen = 0;
  payloadKind = PAYLOAD_ZERO;
  opts = OPTS_TS;
  tsVal = 0;
  tsEcr = 0;
  ipId = 0;
}

const scratch = Buffer.alloc(128);

function tcpHeaderLen(opts: number): number {
  return opts === OPTS_SYN ? 40 : opts === OPTS_TS ? 32 : 20;
}

/** Length of the frame on the wire (Ethernet header included). */
export function frameLength(f: FrameSpec): number {
  return 14 + (f.v6 ? 40 : 20) + tcpHeaderLen(f.opts) + f.payloadLen;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

/** Writes the first `caplen` bytes of the frame at `out[off]`. */
export function encodeFrame(f: FrameSpec, out: Buffer, off: number, caplen: number): void {
  const b = scratch;
  const tcpLen = tcpHeaderLen(f.opts);
  const ipHdr = f.v6 ? 40 : 20;
  const tcpTotal = tcpLen + f.payloadLen;
  // Ethernet
  b.writeUInt32BE(0x02000000, 0);
  b.writeUInt16BE(f.v6 ? 0x0001 : 0x0001, 4);
  b.writeUInt32BE(0x02000000, 6);
  b.writeUInt16BE(0x0002, 10);
  b.writeUInt16BE(f.v6 ? 0x86dd : 0x0800, 12);
  let pseudo = 0;
  const ip = 14;
  if (!f.v6) {
    b[ip] = 0x45;
    b[ip + 1] = 0;
    b.writeUInt16BE(ipHdr + tcpTotal, ip + 2);
    b.writeUInt16BE(f.ipId & 0xffff, ip + 4);
    b.writeUInt16BE(0x4000, ip + 6);
    b[ip + 8] = 64;
    b[ip + 9] = 6;
    b.writeUInt16BE(0, ip + 10);
    b.writeUInt32BE(f.src >>> 0, ip + 12);
    b.writeUInt32BE(f.dst >>> 0, ip + 16);
    let s = 0;
    for (let i = 0; i < 20; i += 2) s += b.readUInt16BE(ip + i);
    b.writeUInt16BE(~fold(s) & 0xffff, ip + 10);
    pseudo = (f.src >>> 16) + (f.src & 0xffff) + (f.dst >>> 16) + (f.dst & 0xffff) + 6 + tcpTotal;
  } else {
    b.writeUInt32BE(0x60000000, ip);
    b.writeUInt16BE(tcpTotal, ip + 4);
    b[ip + 6] = 6;
    b[ip + 7] = 64;
    b.writeUInt32BE(0xfd000000, ip + 8);
    b.writeUInt32BE(0, ip + 12);
    b.writeUInt32BE(f.src6hi >>> 0, ip + 16);
    b.writeUInt32BE(f.src >>> 0, ip + 20);
    b.writeUInt32BE(0xfd000000, ip + 24);
    b.writeUInt32BE(0, ip + 28);
    b.writeUInt32BE(f.dst6hi >>> 0, ip + 32);
    b.writeUInt32BE(f.dst >>> 0, ip + 36);
    for (let i = 8; i < 40; i += 2) pseudo += b.readUInt16BE(ip + i);
    pseudo += 6 + tcpTotal;
  }
  const t = ip + ipHdr;
  b.writeUInt16BE(f.srcPort, t);
  b.writeUInt16BE(f.dstPort, t + 2);
  b.writeUInt32BE(f.seq >>> 0, t + 4);
  b.writeUInt32BE(f.ack >>> 0, t + 8);
  b[t + 12] = (tcpLen / 4) << 4;
  b[t + 13] = f.flags;
  b.writeUInt16BE(f.window, t + 14);
  b.writeUInt32BE(0, t + 16); // checksum + urgent pointer
  let o = t + 20;
  if (f.opts === OPTS_SYN) {
    b.writeUInt32BE(0x020405b4, o); // MSS 1460
    b.writeUInt16BE(0x0402, o + 4); // SACK permitted
    b.writeUInt16BE(0x080a, o + 6); // timestamps
    b.writeUInt32BE(f.tsVal >>> 0, o + 8);
    b.writeUInt32BE(f.tsEcr >>> 0, o + 12);
    b.writeUInt32BE(0x01030307, o + 16); // NOP, window scale 7
    o += 20;
  } else if (f.opts === OPTS_TS) {
    b.writeUInt32BE(0x0101080a, o);
    b.writeUInt32BE(f.tsVal >>> 0, o + 4);
    b.writeUInt32BE(f.tsEcr >>> 0, o + 8);
    o += 12;
  }
  const pat = PATTERNS[f.payloadKind];
  const patLen = f.payloadLen < pat.length ? f.payloadLen : pat.length;
  let sum = pseudo + PATTERN_SUMS[f.payloadKind][patLen];
  for (let i = t; i < o; i += 2) sum += b.readUInt16BE(i);
  b.writeUInt16BE(~fold(sum) & 0xffff || 0xffff, t + 16);

  const hdr = o;
  const headBytes = caplen < hdr ? caplen : hdr;
  b.copy(out, off, 0, headBytes);
  if (caplen > hdr) {
    const want = caplen - hdr;
    const fromPat = want < patLen ? want : patLen;
    pat.copy(out, off + hdr, 0, fromPat);
    if (want > fromPat) out.fill(0, off + hdr + fromPat, off + caplen);
  }
}
