import { CaptureError } from './capture-error';
import { FormatReader, MAX_CAPLEN, ReadState } from './format-reader';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

/** Unchecked 32-bit reads for the record loop (bounds are checked by the loop). */
function le32(b: Buffer, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}
function be32(b: Buffer, o: number): number {
  return b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

/** True when the 4 bytes at `off` are a classic pcap magic in either byte order. */
export function isPcapMagic(buf: Buffer, off: number): boolean {
  const le = buf.readUInt32LE(off);
  const be = buf.readUInt32BE(off);
  return le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS || be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS;
}

/** Classic libpcap file format (2.4), both byte orders, microsecond and nanosecond timestamps. */
export class PcapReader implements FormatReader {
  private headerDone = false;
  private le = true;
  private nano = false;
  private snaplen = 0;
  private linktype = 0;

  constructor(private readonly st: ReadState) {}

  private readHeader(buf: Buffer): void {
    const st = this.st;
    const magicLE = buf.readUInt32LE(0);
    this.le = magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS;
    const magic = this.le ? magicLE : buf.readUInt32BE(0);
    this.nano = magic === PCAP_MAGIC_NS;
    const major = this.le ? buf.readUInt16LE(4) : buf.readUInt16BE(4);
    if (major !== 2) {
      throw new CaptureError(st.file, 4, 'unsupported_version', `unsupported pcap version ${major}`);
    }
    this.snaplen = this.le ? buf.readUInt32LE(16) : buf.readUInt32BE(16);
    // Upper bits of the link-type field carry FCS information.
    this.linktype = (this.le ? buf.readUInt32LE(20) : buf.readUInt32BE(20)) & 0xffff;
    const info = st.info;
    info.byteOrder = this.le ? 'le' : 'be';
    info.tsPrecision = this.nano ? 'ns' : 'us';
    info.snaplen = this.snaplen;
    info.sections = 1;
    info.interfaces = 1;
    st.addLinktype(this.linktype);
    const raw = st.raw;
    raw.linktype = this.linktype;
    raw.interfaceId = 0;
    this.headerDone = true;
  }

  parse(buf: Buffer, base: number): number {
    let pos = 0;
    if (!this.headerDone) {
      if (buf.length < GLOBAL_HEADER_LEN) return 0;
      this.readHeader(buf);
      pos = GLOBAL_HEADER_LEN;
    }
    const st = this.st;
    const raw = st.raw;
    raw.buf = buf;
    const end = buf.length;
    const le = this.le;
    const nano = this.nano;
    const snaplen = this.snaplen;
    while (end - pos >= RECORD_HEADER_LEN) {
      const caplen = le ? le32(buf, pos + 8) : be32(buf, pos + 8);
      if (caplen > MAX_CAPLEN || (snaplen > 0 && caplen > snaplen)) {
        const why = caplen > MAX_CAPLEN ? `larger than ${MAX_CAPLEN}` : `larger than the snaplen ${snaplen}`;
        st.setDamage('bad_caplen', base + pos, `record captured length ${caplen} is ${why}: framing broken`, true);
        return pos;
      }
      if (end - pos - RECORD_HEADER_LEN < caplen) break;
      const sec = le ? le32(buf, pos) : be32(buf, pos);
      const frac = le ? le32(buf, pos + 4) : be32(buf, pos + 4);
      raw.tsUs = sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac);
      raw.caplen = caplen;
      raw.origlen = le ? le32(buf, pos + 12) : be32(buf, pos + 12);
      raw.off = pos + RECORD_HEADER_LEN;
      raw.fileOffset = base + pos;
      st.deliver(true);
      pos += RECORD_HEADER_LEN + caplen;
    }
    return pos;
  }

  finish(restLen: number, base: number): void {
    const st = this.st;
    if (!this.headerDone) {
      throw new CaptureError(
        st.file,
        base + restLen,
        'truncated_header',
        `pcap global header truncated (${restLen} of ${GLOBAL_HEADER_LEN} bytes)`,
      );
    }
    if (restLen > 0) {
      st.setDamage(
        'truncated_record',
        base,
        `last record truncated at end of file (${restLen} bytes left, capture was probably cut short)`,
        false,
      );
    }
  }
}
