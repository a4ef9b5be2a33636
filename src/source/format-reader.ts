import { CaptureDamage, CaptureInfo } from './capture-info';
import { PacketHandler, RawPacket } from './raw-packet';

/** Records larger than this are treated as broken framing (libpcap's own maximum snapshot length). */
export const MAX_CAPLEN = 256 * 1024;

/**
 * The packet times wirestate accepts, in µs since the epoch: from 1970-01-01
 * 00:00:00 UTC up to, not including, 10000-01-01 (what a report can print as
 * a date). A record outside is counted as `bad_timestamp` and skipped.
 */
export const MIN_TS_US = 0;
export const END_TS_US = 253402300800e6;

/**
 * What a format reader shares with readCapture: the reused RawPacket, the
 * handler, running counts and damage. One per read.
 */
export class ReadState {
  readonly raw: RawPacket = {
    buf: Buffer.alloc(0),
    off: 0,
    caplen: 0,
    origlen: 0,
    tsUs: 0,
    linktype: 0,
    interfaceId: 0,
    fileOffset: 0,
  };
  packets = 0;
  /** Min/max timestamp; +/-Infinity until a timestamped packet was seen. */
  minTsUs = Infinity;
  maxTsUs = -Infinity;
  damage: CaptureDamage | null = null;
  /** Named anomalies of the file's framing (not of a packet's content), with the offset of the first. */
  readonly anomalies: Record<string, number> = {};
  readonly anomalyFirstOffsets: Record<string, number> = {};
  /** One-line warnings (file and byte offset) that are not damage. */
  readonly warnings: string[] = [];

  constructor(
    readonly file: string,
    readonly info: CaptureInfo,
    readonly onPacket: PacketHandler,
  ) {}

  /** Deliver `raw` (already filled in) to the handler. */
  deliver(tsValid: boolean): void {
    const ts = this.raw.tsUs;
    if (tsValid) {
      if (ts < this.minTsUs) this.minTsUs = ts;
      if (ts > this.maxTsUs) this.maxTsUs = ts;
    }
    this.packets++;
    this.onPacket(this.raw);
  }

  setDamage(code: string, offset: number, detail: string, fatal: boolean): void {
    this.damage = { code, offset, message: `${this.file}: ${detail} at byte ${offset}`, fatal };
  }

  /** Count one framing anomaly found at input offset `offset`. */
  anomaly(name: string, offset: number): void {
    const n = this.anomalies[name] ?? 0;
    if (n === 0) this.anomalyFirstOffsets[name] = offset;
    this.anomalies[name] = n + 1;
  }

  addLinktype(linktype: number): void {
    if (!this.info.linktypes.includes(linktype)) this.info.linktypes.push(linktype);
  }
}

/** A streaming parser for one file format. */
export interface FormatReader {
  /**
   * Parse every complete record in `buf` (whose first byte is at input
   * offset `base`) and return how many bytes were consumed; the rest is
   * handed back, with more bytes appended, on the next call. Stops early
   * after setting fatal damage on the state. Throws CaptureError when the
   * file header is unusable.
   */
  parse(buf: Buffer, base: number): number;
  /** End of input with `restLen` unconsumed bytes at offset `base`: throws or records damage. */
  finish(restLen: number, base: number): void;
}
