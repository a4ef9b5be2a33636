import fs from 'node:fs';

/**
 * Streams a classic pcap file (little-endian, microsecond timestamps) to disk
 * through one reused chunk buffer, so a file of any size is written in
 * constant memory. Callers reserve a record, fill `buf` at the returned
 * offset, and move on.
 */
export class PcapFileWriter {
  readonly buf: Buffer;
  private pos = 0;
  private fd: number;
  /** Bytes written to the file so far (including what is still buffered). */
  bytes = 0;
  records = 0;

  constructor(
    file: string,
    readonly snaplen: number,
    linktype: number,
    chunkSize = 1 << 20,
  ) {
    this.buf = Buffer.alloc(Math.max(chunkSize, snaplen + 16 + 24));
    this.fd = fs.openSync(file, 'w');
    const b = this.buf;
    b.writeUInt32LE(0xa1b2c3d4, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    b.writeInt32LE(0, 8); // thiszone
    b.writeUInt32LE(0, 12); // sigfigs
    b.writeUInt32LE(snaplen, 16);
    b.writeUInt32LE(linktype, 20);
    this.pos = 24;
    this.bytes = 24;
  }

  /**
   * Writes a record header for a packet of `origlen` bytes on the wire and
   * returns the offset in `buf` where its `min(origlen, snaplen)` captured
   * bytes must be written before the next call.
   */
  reserve(tsUs: number, origlen: number): number {
    const caplen = origlen < this.snaplen ? origlen : this.snaplen;
    if (this.pos + 16 + caplen > this.buf.length) this.flush();
    const b = this.buf;
    const p = this.pos;
    const sec = Math.floor(tsUs / 1e6);
    b.writeUInt32LE(sec, p);
    b.writeUInt32LE(tsUs - sec * 1e6, p + 4);
    b.writeUInt32LE(caplen, p + 8);
    b.writeUInt32LE(origlen, p + 12);
    this.pos = p + 16 + caplen;
    this.bytes += 16 + caplen;
    this.records++;
    return p + 16;
  }

  private flush(): void {
    let off = 0;
    while (off < this.pos) off += fs.writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}
