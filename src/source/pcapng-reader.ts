import { CaptureError } from './capture-error';
import { FormatReader, MAX_CAPLEN, END_TS_US, MIN_TS_US, ReadState } from './format-reader';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_OPB = 0x00000002;
export const BT_SPB = 0x00000003;
export const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Blocks larger than this are treated as broken framing. */
export const MAX_BLOCK_LEN = 16 * 1024 * 1024;
const SHB_MIN_LEN = 28;
/** Smallest legal total length of each block with a fixed part (header + fixed fields + trailer). */
const EPB_MIN_LEN = 32;
const OPB_MIN_LEN = 32;
const SPB_MIN_LEN = 16;
const IDB_MIN_LEN = 20;

/** Minimum total length of a block of `type` (12 for blocks with no fixed part we read). */
function minBlockLen(type: number): number {
  switch (type) {
    case BT_SHB:
      return SHB_MIN_LEN;
    case BT_EPB:
      return EPB_MIN_LEN;
    case BT_OPB:
      return OPB_MIN_LEN;
    case BT_SPB:
      return SPB_MIN_LEN;
    case BT_IDB:
      return IDB_MIN_LEN;
    default:
      return 12;
  }
}
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/** Timestamp conversion modes per interface. */
const TS_MICRO = 0; // units are µs: value as is
const TS_DIV = 1; // 10^-n, n > 6: exact integer division by 10^(n-6)
const TS_MUL = 2; // 10^-n, n < 6: multiply by 10^(6-n)
const TS_BIN = 3; // 2^-n
const TS_BAD = 4; // if_tsresol finer than MAX_DECIMAL_RESOL / MAX_BINARY_RESOL: times unusable

/**
 * The finest `if_tsresol` accepted: 10^-12 s (picoseconds) and 2^-32 s, as
 * far as the conversion to integer µs stays exact in a double. Finer ones are
 * `bad_ts_resolution`: the interface's packets have no usable time.
 */
export const MAX_DECIMAL_RESOL = 12;
export const MAX_BINARY_RESOL = 32;

const TWO32 = 4294967296;

/** True when the 4 bytes at `off` are the pcapng section header block type (a palindrome: same in both byte orders). */
export function isPcapngMagic(buf: Buffer, off: number): boolean {
  return buf.readUInt32LE(off) === BT_SHB;
}

/**
 * pcapng: several sections of either byte order, per-interface link type,
 * snaplen, if_tsresol (10^-n and 2^-n) and if_tsoffset; enhanced, simple and
 * obsolete packet blocks. Every other block type is skipped.
 */
export class PcapngReader implements FormatReader {
  private le = true;
  private inSection = false;
  /** Global index of this section's interface 0. */
  private ifBase = 0;
  // Per interface of the current section (index = interface id in the section).
  private ifLinktype: number[] = [];
  private ifSnaplen: number[] = [];
  private ifMode: number[] = [];
  private ifParam: number[] = [];
  private ifQ: number[] = [];
  private ifR: number[] = [];
  private ifOffsetUs: number[] = [];
  private lastTsUs = 0;

  constructor(private readonly st: ReadState) {}

  private u32(b: Buffer, o: number): number {
    return this.le
      ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000
      : b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  }

  private u16(b: Buffer, o: number): number {
    return this.le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
  }

  parse(buf: Buffer, base: number): number {
    const st = this.st;
    const raw = st.raw;
    raw.buf = buf;
    const end = buf.length;
    let pos = 0;
    while (end - pos >= 12) {
      let type = this.u32(buf, pos);
      if (type === BT_SHB) {
        const bom = buf.readUInt32LE(pos + 8);
        if (bom === BYTE_ORDER_MAGIC) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else if (!this.inSection) {
          throw new CaptureError(st.file, base + pos + 8, 'not_a_capture', 'pcapng section header has no byte-order magic');
        } else {
          st.setDamage('bad_block', base + pos, 'pcapng section header with a bad byte-order magic', true);
          return pos;
        }
        type = BT_SHB;
      } else if (!this.inSection) {
        throw new CaptureError(st.file, base + pos, 'not_a_capture', 'pcapng file does not start with a section header');
      }
      const len = this.u32(buf, pos + 4);
      const minLen = minBlockLen(type);
      if (len % 4 !== 0 || len < minLen || len > MAX_BLOCK_LEN) {
        if (type === BT_SHB && !this.inSection) {
          throw new CaptureError(st.file, base + pos + 4, 'not_a_capture', `pcapng section header has a bad length ${len}`);
        }
        const why = len % 4 !== 0 ? ' (not a multiple of 4)' : len < minLen ? ` (shorter than the ${minLen} bytes of its fixed part)` : '';
        st.setDamage('bad_block_length', base + pos, `pcapng block (type 0x${type.toString(16)}) has a bad length ${len}${why}`, true);
        return pos;
      }
      if (end - pos < len) {
        if (type === BT_SHB && !this.inSection && end - pos < SHB_MIN_LEN) return pos;
        break;
      }
      if (this.u32(buf, pos + len - 4) !== len) {
        st.setDamage(
          'bad_block_length',
          base + pos,
          `pcapng block (type 0x${type.toString(16)}) trailing length ${this.u32(buf, pos + len - 4)} differs from its length ${len}`,
          true,
        );
        return pos;
      }
      switch (type) {
        case BT_EPB:
        case BT_OPB: {
          const epb = type === BT_EPB;
          const id = epb ? this.u32(buf, pos + 8) : this.u16(buf, pos + 8);
          if (id >= this.ifLinktype.length) {
            st.setDamage('bad_interface_id', base + pos, `packet block names interface ${id}, which was never described`, true);
            return pos;
          }
          const caplen = this.u32(buf, pos + 20);
          const snaplen = this.ifSnaplen[id];
          if (caplen > len - 32 || caplen > MAX_CAPLEN || (snaplen > 0 && caplen > snaplen)) {
            const why =
              caplen > len - 32
                ? `runs past its block (length ${len})`
                : caplen > MAX_CAPLEN
                  ? `is larger than ${MAX_CAPLEN}`
                  : `is larger than the interface snaplen ${snaplen}`;
            st.setDamage('bad_caplen', base + pos, `packet captured length ${caplen} ${why}: framing broken`, true);
            return pos;
          }
          const hi = this.u32(buf, pos + 12);
          const lo = this.u32(buf, pos + 16);
          let ts: number;
          const mode = this.ifMode[id];
          if (mode === TS_MICRO) ts = hi * TWO32 + lo;
          else if (mode === TS_DIV) ts = hi * this.ifQ[id] + Math.floor((hi * this.ifR[id] + lo) / this.ifParam[id]);
          else ts = this.slowTs(id, hi, lo);
          ts += this.ifOffsetUs[id];
          if (!(ts >= MIN_TS_US && ts < END_TS_US)) {
            // NaN (unusable resolution) included: a time no report can print. Skipped, counted.
            st.anomaly('bad_timestamp', base + pos);
            break;
          }
          this.lastTsUs = ts;
          raw.tsUs = ts;
          raw.caplen = caplen;
          raw.origlen = this.u32(buf, pos + 24);
          raw.off = pos + 28;
          raw.linktype = this.ifLinktype[id];
          raw.interfaceId = this.ifBase + id;
          raw.fileOffset = base + pos;
          st.deliver(true);
          break;
        }
        case BT_SPB: {
          if (this.ifLinktype.length === 0) {
            st.setDamage('bad_interface_id', base + pos, 'simple packet block before any interface description', true);
            return pos;
          }
          const origlen = this.u32(buf, pos + 8);
          const snaplen = this.ifSnaplen[0];
          let caplen = Math.min(origlen, len - 16);
          if (snaplen > 0 && caplen > snaplen) caplen = snaplen;
          if (caplen > MAX_CAPLEN) {
            st.setDamage('bad_caplen', base + pos, `packet captured length ${caplen} is larger than ${MAX_CAPLEN}: framing broken`, true);
            return pos;
          }
          // A simple packet block has no timestamp: it inherits the previous packet's.
          raw.tsUs = this.lastTsUs;
          raw.caplen = caplen;
          raw.origlen = origlen;
          raw.off = pos + 12;
          raw.linktype = this.ifLinktype[0];
          raw.interfaceId = this.ifBase;
          raw.fileOffset = base + pos;
          st.deliver(false);
          break;
        }
        case BT_IDB:
          this.readIdb(buf, pos, len, base + pos);
          break;
        case BT_SHB:
          this.ifBase += this.ifLinktype.length;
          this.ifLinktype.length = 0;
          this.ifSnaplen.length = 0;
          this.ifMode.length = 0;
          this.ifParam.length = 0;
          this.ifQ.length = 0;
          this.ifR.length = 0;
          this.ifOffsetUs.length = 0;
          if (!this.inSection) st.info.byteOrder = this.le ? 'le' : 'be';
          this.inSection = true;
          st.info.sections++;
          break;
        default:
          // Name resolution, statistics, decryption secrets, custom blocks...: not needed.
          break;
      }
      pos += len;
    }
    return pos;
  }

  private readIdb(buf: Buffer, pos: number, len: number, at: number): void {
    const st = this.st;
    const linktype = this.u16(buf, pos + 8);
    const snaplen = this.u32(buf, pos + 12);
    let resolByte = 6;
    let offsetUs = 0;
    let o = pos + 16;
    const optEnd = pos + len - 4;
    while (o + 4 <= optEnd) {
      const code = this.u16(buf, o);
      const olen = this.u16(buf, o + 2);
      if (code === 0 || o + 4 + olen > optEnd) break;
      if (code === OPT_IF_TSRESOL && olen >= 1) resolByte = buf[o + 4];
      else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const secs = this.le ? buf.readBigInt64LE(o + 4) : buf.readBigInt64BE(o + 4);
        offsetUs = Number(secs) * 1e6;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    const binary = (resolByte & 0x80) !== 0;
    const n = resolByte & 0x7f;
    let mode: number;
    let param = 0;
    let q = 0;
    let r = 0;
    let precision: string;
    if (binary ? n > MAX_BINARY_RESOL : n > MAX_DECIMAL_RESOL) {
      mode = TS_BAD;
      precision = binary ? `2^-${n}` : `10^-${n}`;
      st.anomaly('bad_ts_resolution', at);
      st.warnings.push(
        `${st.file}: pcapng interface ${this.ifBase + this.ifLinktype.length} has if_tsresol ${precision} s, finer than ` +
          `10^-${MAX_DECIMAL_RESOL} or 2^-${MAX_BINARY_RESOL}: its packets' times are unusable and they are skipped (bad_timestamp) at byte ${at}`,
      );
    } else if (binary) {
      mode = TS_BIN;
      param = n;
      precision = `2^-${n}`;
    } else if (n === 6) {
      mode = TS_MICRO;
      precision = 'us';
    } else if (n > 6) {
      mode = TS_DIV;
      param = 10 ** (n - 6);
      q = Math.floor(TWO32 / param);
      r = TWO32 % param;
      precision = n === 9 ? 'ns' : `10^-${n}`;
    } else {
      mode = TS_MUL;
      param = 10 ** (6 - n);
      precision = `10^-${n}`;
    }
    const info = st.info;
    if (info.interfaces === 0) info.tsPrecision = precision;
    info.interfaces++;
    if (snaplen > info.snaplen) info.snaplen = snaplen;
    st.addLinktype(linktype);
    this.ifLinktype.push(linktype);
    this.ifSnaplen.push(snaplen);
    this.ifMode.push(mode);
    this.ifParam.push(param);
    this.ifQ.push(q);
    this.ifR.push(r);
    this.ifOffsetUs.push(offsetUs);
  }

  /** Timestamp in µs for the uncommon resolutions (10^-n with n < 6, 2^-n); NaN when the resolution is unusable. */
  private slowTs(id: number, hi: number, lo: number): number {
    const param = this.ifParam[id];
    if (this.ifMode[id] === TS_BAD) return NaN;
    if (this.ifMode[id] === TS_MUL) return (hi * TWO32 + lo) * param;
    // 2^-n: split whole seconds from the fraction to stay exact for large values.
    const n = param;
    let sec: number;
    let frac: number;
    if (n >= 32) {
      const div = 2 ** (n - 32);
      sec = Math.floor(hi / div);
      frac = (hi % div) * TWO32 + lo;
    } else {
      const div = 2 ** n;
      sec = hi * 2 ** (32 - n) + Math.floor(lo / div);
      frac = lo % div;
    }
    return sec * 1e6 + Math.floor((frac * 1e6) / 2 ** n);
  }

  finish(restLen: number, base: number): void {
    const st = this.st;
    if (!this.inSection) {
      throw new CaptureError(
        st.file,
        base + restLen,
        'truncated_header',
        `pcapng section header block truncated (${restLen} bytes)`,
      );
    }
    if (restLen > 0) {
      st.setDamage(
        'truncated_block',
        base,
        `last block runs past the end of the file (${restLen} bytes left, capture was probably cut short)`,
        false,
      );
    }
  }
}
