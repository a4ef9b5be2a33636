/**
 * Byte-level editing of real classic pcap fixtures (little-endian, µs) for
 * ingest tests: split into rotated files, cut short, corrupt, or replicate a
 * capture into a big one. Packets themselves stay the kernel's.
 */
import fs from 'node:fs';

export interface PcapRecord {
  /** Offset of the 16-byte record header in the file. */
  off: number;
  /** Total record length (header + captured bytes). */
  len: number;
  tsUs: number;
}

export interface PcapFile {
  buf: Buffer;
  header: Buffer;
  linktype: number;
  records: PcapRecord[];
}

export function readPcap(file: string): PcapFile {
  const buf = fs.readFileSync(file);
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian µs pcap`);
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const caplen = buf.readUInt32LE(off + 8);
    records.push({ off, len: 16 + caplen, tsUs: buf.readUInt32LE(off) * 1e6 + buf.readUInt32LE(off + 4) });
    off += 16 + caplen;
  }
  return { buf, header: buf.subarray(0, 24), linktype: buf.readUInt32LE(20), records };
}

/** Records [from, to) as a complete pcap file. */
export function slicePcap(p: PcapFile, from: number, to: number): Buffer {
  const parts = [p.header, ...p.records.slice(from, to).map((r) => p.buf.subarray(r.off, r.off + r.len))];
  return Buffer.concat(parts);
}

/**
 * `copies` back-to-back replicas of an Ethernet/IPv4/TCP capture, each shifted
 * in time by `gapS` after the previous one ends and with the client's TCP port
 * (the port that is not `serverPort`) renumbered, so every replica's
 * connections are distinct flows. With `shiftServerPorts`, replica k also
 * moves every service port p to p + k (the client's port is the higher one).
 * With `shiftClientAddress`, replica k's client (the side whose port is not
 * `serverPort`) is another host: its IPv4 address's last byte + 16 k.
 * Written to `out` in pieces (constant memory).
 */
export function replicatePcap(
  p: PcapFile,
  serverPort: number,
  copies: number,
  gapS: number,
  out: string,
  opts: { shiftServerPorts?: boolean; shiftClientAddress?: boolean } = {},
): void {
  if (p.linktype !== 1) throw new Error('replicatePcap needs Ethernet captures');
  const fd = fs.openSync(out, 'w');
  try {
    fs.writeSync(fd, p.header);
    const first = p.records[0].tsUs;
    const span = p.records[p.records.length - 1].tsUs - first;
    for (let k = 0; k < copies; k++) {
      const shiftUs = k * (span + gapS * 1e6);
      const chunk = Buffer.from(p.buf.subarray(24, p.records[p.records.length - 1].off + p.records[p.records.length - 1].len));
      for (const r of p.records) {
        const o = r.off - 24;
        const ts = r.tsUs + shiftUs;
        chunk.writeUInt32LE(Math.floor(ts / 1e6), o);
        chunk.writeUInt32LE(ts % 1e6, o + 4);
        const eth = o + 16;
        if (chunk.readUInt16BE(eth + 12) !== 0x0800) continue;
        const ip = eth + 14;
        if (chunk[ip + 9] !== 6) continue;
        const tcp = ip + (chunk[ip] & 0x0f) * 4;
        const sp = chunk.readUInt16BE(tcp);
        const dp = chunk.readUInt16BE(tcp + 2);
        const renumber = (port: number) => 1024 + ((port - 1024 + k * 97) % 64000);
        if (opts.shiftServerPorts) {
          // Every replica talks to other service ports: port p of the original becomes p + k.
          const client = sp > dp ? 'src' : 'dst';
          if (client === 'src') {
            chunk.writeUInt16BE(renumber(sp), tcp);
            chunk.writeUInt16BE(dp + k, tcp + 2);
          } else {
            chunk.writeUInt16BE(sp + k, tcp);
            chunk.writeUInt16BE(renumber(dp), tcp + 2);
          }
          continue;
        }
        if (sp !== serverPort) chunk.writeUInt16BE(renumber(sp), tcp);
        if (dp !== serverPort) chunk.writeUInt16BE(renumber(dp), tcp + 2);
        if (opts.shiftClientAddress && k > 0) {
          // The client's address (source when its port is not the server's); the decoder does not verify checksums.
          const last = sp !== serverPort ? ip + 15 : ip + 19;
          chunk[last] = (chunk[last] + 16 * k) % 256;
        }
      }
      fs.writeSync(fd, chunk);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** TCP ports and flags of record `i` of an Ethernet/IPv4 capture, or null when it is not TCP over IPv4. */
export function tcpOf(p: PcapFile, i: number): { sport: number; dport: number; flags: number } | null {
  const b = p.buf;
  const eth = p.records[i].off + 16;
  if (p.linktype !== 1 || b.readUInt16BE(eth + 12) !== 0x0800) return null;
  const ip = eth + 14;
  if (b[ip + 9] !== 6) return null;
  const tcp = ip + (b[ip] & 0x0f) * 4;
  return { sport: b.readUInt16BE(tcp), dport: b.readUInt16BE(tcp + 2), flags: b[tcp + 13] };
}
