import fs from 'node:fs';
import type { RawPacket } from './raw-packet';

/**
 * Writes packets as a classic pcap file (magic a1b2c3d4 in this machine's
 * byte order, microsecond timestamps, version 2.4) that tcpdump, Wireshark
 * and `wirestate ingest` read back. Output is buffered and written with
 * synchronous writes in large chunks; `flush()` makes what was written so far
 * readable by others.
 */
export class PcapWriter {
  readonly path: string;
  readonly snaplen: number;
  readonly linktype: number;
  packets = 0;
  bytes = 0;
  private fd: number;
  private readonly buf: Buffer;
  private used = 0;

  constructor(path: string, linktype: number, snaplen: number, bufferBytes = 256 * 1024) {
    this.path = path;
    this.linktype = linktype;
    this.snaplen = snaplen;
    this.buf = Buffer.allocUnsafe(Math.max(bufferBytes, 16 + 65536 + 24));
    this.fd = fs.openSync(path, 'w');
    const h = this.buf;
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(linktype, 20);
    this.used = 24;
  }

  /** Append one packet (its bytes are copied). */
  write(p: RawPacket): void {
    if (this.fd < 0) throw new Error(`${this.path}: write after close`);
    const caplen = Math.min(p.caplen, this.snaplen);
    if (this.used + 16 + caplen > this.buf.length) this.flush();
    const b = this.buf;
    let o = this.used;
    const sec = Math.floor(p.tsUs / 1e6);
    b.writeUInt32LE(sec >>> 0, o);
    b.writeUInt32LE(p.tsUs - sec * 1e6, o + 4);
    b.writeUInt32LE(caplen, o + 8);
    b.writeUInt32LE(Math.max(p.origlen, caplen), o + 12);
    o += 16;
    p.buf.copy(b, o, p.off, p.off + caplen);
    this.used = o + caplen;
    this.packets++;
    this.bytes += 16 + caplen;
  }

  /** Write out whatever is buffered. */
  flush(): void {
    let done = 0;
    while (done < this.used) done += fs.writeSync(this.fd, this.buf, done, this.used - done);
    this.used = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    this.flush();
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}
