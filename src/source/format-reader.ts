import { CaptureDamage, CaptureInfo } from './capture-info';
import { PacketHandler, RawPacket } from './raw-packet';

/** Records larger than this are treated as broken framing (libpcap's own maximum snapshot length). */
export const MAX_CAPLEN = 256 * 1024;

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
