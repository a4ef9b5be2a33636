import type { ParseStop } from './http-facts';
import { copyBytes, giveHeadBuffer, MAX_HEAD_BYTES, takeHeadBuffer } from './head-buffers';
import { lfIndex, looksLikeStart, MessageHead, parseHead } from './http-message-head';
import { seqDiff } from '../tcp/seq-math';

/** What a stream's owner (app-flow.ts) is told; it decides the framing of each message. */
export interface StreamOwner {
  /** A message starts at tsUs (its first byte). */
  messageStart(s: HttpStream, tsUs: number, seq: number): void;
  /**
   * The head was read (`complete` false: cut by the snaplen, only its
   * complete lines were read). Returns the body framing: BODY_NONE,
   * BODY_LENGTH (with s.bodyLeft set), BODY_CHUNKED, BODY_UNTIL_CLOSE, or
   * BODY_STOP (s.stop was called).
   */
  head(s: HttpStream, h: MessageHead, buf: Uint8Array, complete: boolean, tsUs: number): number;
  /** The message ended at tsUs (last byte of its body); bodyBytes NaN when unknown. */
  messageEnd(s: HttpStream, tsUs: number, bodyBytes: number): void;
  /** The first bytes of the direction are not an HTTP message start; returns true when the owner took them (TLS). */
  notHttp(s: HttpStream, buf: Uint8Array, off: number, end: number): boolean;
}

export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
export const BODY_UNTIL_CLOSE = 3;
export const BODY_STOP = 4;

const START = 0;
const HEAD = 1;
const BODY_LEN = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_DATA_END = 5;
const TRAILER = 6;
const UNTIL_CLOSE = 7;
const RESYNC = 8;
const STOPPED = 9;

const CR = 0x0d;
const LF = 0x0a;

/** Scratch head (one per process: heads are parsed one at a time). */
const scratchHead = new MessageHead();

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * One direction of an HTTP/1.x connection, read in order: message heads
 * (bounded, copied only when a head spans segments) and body framing
 * (Content-Length, chunked, until close) without keeping any body byte.
 *
 * Bytes arrive by TCP sequence number (segment): the next expected number is
 * kept; bytes already read (retransmissions, overlaps) are skipped; bytes
 * never seen are "missing". Missing bytes inside a body of known length (or
 * a body read until close, or chunk data) are just counted; missing bytes
 * anywhere else mean the framing is lost: after a snaplen cut the stream
 * resynchronises on the next segment that starts like a message, after a
 * hole in the sequence (capture loss, out-of-order) it stops ('gap').
 */
export class HttpStream {
  readonly isRequest: boolean;
  private readonly owner: StreamOwner;
  private seqInit = false;
  private nextSeq = 0;
  private mode = START;
  /** A message head was read on this direction (it speaks HTTP). */
  started = false;
  stopReason: ParseStop | null = null;
  /** Body bytes left (BODY_LEN) or chunk bytes left (CHUNK_DATA). */
  bodyLeft = 0;
  private bodyBytes = 0;
  private chunkSize = 0;
  private chunkDigits = 0;
  private chunkExt = false;
  private lineLen = 0;
  private head: Buffer | null = null;
  private headLen = 0;
  /** End-of-head scan: 0 in a line, 1 after LF, 2 after LF CR. */
  private eoh = 0;
  /** Time of the last byte read (until-close bodies end there). */
  private lastTsUs = 0;
  /** Sequence number of the byte at segOff of the segment being read. */
  private segSeq = 0;
  private segOff = 0;

  constructor(owner: StreamOwner, isRequest: boolean) {
    this.owner = owner;
    this.isRequest = isRequest;
  }

  /** As new (AppFlow objects are reused, app-hook.ts). */
  reset(): void {
    this.release();
    this.seqInit = false;
    this.nextSeq = 0;
    this.mode = START;
    this.started = false;
    this.stopReason = null;
    this.bodyLeft = 0;
    this.bodyBytes = 0;
    this.chunkSize = 0;
    this.chunkDigits = 0;
    this.chunkExt = false;
    this.lineLen = 0;
    this.eoh = 0;
    this.lastTsUs = 0;
    this.segSeq = 0;
    this.segOff = 0;
  }

  get seqKnown(): boolean {
    return this.seqInit;
  }

  get stopped(): boolean {
    return this.mode === STOPPED;
  }

  /** Nothing more can be read: stopped, or every byte before `seq` (the direction's FIN) has been read. */
  readTo(seq: number): boolean {
    return this.mode === STOPPED || (this.seqInit && this.nextSeq === seq);
  }

  /** Stop reading this direction for good. */
  stop(reason: ParseStop): void {
    if (this.mode === STOPPED) return;
    this.mode = STOPPED;
    if (this.stopReason === null) this.stopReason = reason;
    this.release();
  }

  /** Give back a head buffer (flow written out for good, or stopped). */
  release(): void {
    if (this.head !== null) {
      giveHeadBuffer(this.head);
      this.head = null;
    }
    this.headLen = 0;
  }

  /**
   * One segment's payload: `seq` of its first byte, `capLen` of its `wireLen`
   * bytes captured at buf[off, off + capLen).
   */
  segment(seq: number, firstSeq: number, buf: Uint8Array, off: number, capLen: number, wireLen: number, tsUs: number): void {
    if (this.mode === STOPPED) return;
    if (!this.seqInit) {
      this.seqInit = true;
      this.nextSeq = firstSeq;
    }
    let d = seqDiff(seq, this.nextSeq);
    if (d > 0) {
      // A hole before this segment: bytes the capture never showed (yet).
      if (!this.missing(d, false, tsUs)) return;
      this.nextSeq = seq;
      d = 0;
    }
    const skip = -d;
    if (skip >= wireLen) return; // all of it read before
    this.nextSeq = (seq + wireLen) >>> 0;
    this.segSeq = seq;
    this.segOff = off;
    if (skip < capLen) this.feed(buf, off + skip, off + capLen, tsUs, skip === 0, capLen < wireLen);
    const lost = wireLen - (capLen > skip ? capLen : skip);
    if (lost > 0 && this.mode !== STOPPED) this.missing(lost, true, tsUs);
  }

  /** The sender's FIN: a body read until close ends here. */
  fin(): void {
    if (this.mode === UNTIL_CLOSE) {
      this.owner.messageEnd(this, this.lastTsUs, this.bodyBytes);
      this.mode = START;
    }
  }

  /**
   * n bytes were not captured (snaplen: the segment's tail; otherwise a hole
   * in the sequence). Returns false when the stream stopped.
   */
  private missing(n: number, snaplen: boolean, tsUs: number): boolean {
    switch (this.mode) {
      case BODY_LEN:
        if (n <= this.bodyLeft) {
          this.bodyLeft -= n;
          this.bodyBytes += n;
          if (this.bodyLeft === 0) this.endMessage(tsUs);
          return true;
        }
        break;
      case CHUNK_DATA:
        if (n <= this.bodyLeft) {
          this.bodyLeft -= n;
          this.bodyBytes += n;
          if (this.bodyLeft === 0) this.mode = CHUNK_DATA_END;
          return true;
        }
        break;
      case UNTIL_CLOSE:
        this.bodyBytes += n;
        this.lastTsUs = tsUs;
        return true;
      case RESYNC:
        return true;
      case START:
        if (snaplen && this.started) {
          this.mode = RESYNC;
          return true;
        }
        break;
      case HEAD:
        if (snaplen) {
          this.truncatedHead(tsUs);
          return !this.stopped;
        }
        break;
      default:
        break;
    }
    if (snaplen && this.started) {
      // The framing is lost with the bytes (a head or chunk line cut): messages are found again at segment starts.
      this.mode = RESYNC;
      this.release();
      return true;
    }
    this.stop('gap');
    return false;
  }

  /** A head cut by the snaplen: read its complete lines, then resynchronise. */
  private truncatedHead(tsUs: number): void {
    const h = this.head;
    if (h === null || this.headLen === 0) {
      this.mode = RESYNC;
      return;
    }
    const ok = parseHead(h, 0, this.headLen, this.isRequest, scratchHead);
    if (!ok) {
      this.release();
      if (!this.started) this.stop('not_http');
      else this.mode = RESYNC;
      return;
    }
    this.started = true;
    this.owner.head(this, scratchHead, h, false, tsUs);
    this.release();
    if (this.mode !== STOPPED) this.mode = RESYNC;
  }

  private endMessage(tsUs: number): void {
    this.owner.messageEnd(this, tsUs, this.bodyBytes);
    if (this.mode !== STOPPED) this.mode = START;
  }

  /** In-order captured bytes buf[s, e); `segStart`: s is the segment's first byte; `cut`: the segment's tail was not captured. */
  private feed(buf: Uint8Array, s: number, e: number, tsUs: number, segStart: boolean, cut: boolean): void {
    this.lastTsUs = tsUs;
    while (s < e) {
      switch (this.mode) {
        case RESYNC: {
          if (!segStart || looksLikeStart(buf, s, e, this.isRequest) !== 1) return;
          this.mode = START;
          break;
        }
        case START: {
          while (s < e && (buf[s] === CR || buf[s] === LF)) s++;
          if (s === e) return;
          const looks = looksLikeStart(buf, s, e, this.isRequest);
          if (looks < 0) {
            if (!this.started) {
              if (!this.owner.notHttp(this, buf, s, e)) this.stop('not_http');
            } else this.stop('bad_framing');
            return;
          }
          this.owner.messageStart(this, tsUs, (this.segSeq + (s - this.segOff)) >>> 0);
          this.mode = HEAD;
          this.headLen = 0;
          this.eoh = 0;
          break;
        }
        case HEAD:
          s = this.readHead(buf, s, e, tsUs, cut);
          break;
        case BODY_LEN: {
          const take = e - s < this.bodyLeft ? e - s : this.bodyLeft;
          this.bodyLeft -= take;
          this.bodyBytes += take;
          s += take;
          if (this.bodyLeft === 0) this.endMessage(tsUs);
          break;
        }
        case CHUNK_SIZE: {
          const c = buf[s++];
          if (c === LF) {
            if (this.chunkDigits === 0) {
              this.stop('bad_framing');
              return;
            }
            this.bodyLeft = this.chunkSize;
            this.mode = this.chunkSize === 0 ? TRAILER : CHUNK_DATA;
            this.lineLen = 0;
            this.chunkSize = 0;
            this.chunkDigits = 0;
            this.chunkExt = false;
          } else if (!this.chunkExt) {
            const v = hexDigit(c);
            if (v >= 0) {
              if (++this.chunkDigits > 12) {
                this.stop('bad_framing');
                return;
              }
              this.chunkSize = this.chunkSize * 16 + v;
            } else if (c === 0x3b || c === 0x20 || c === 0x09 || c === CR) {
              this.chunkExt = true;
            } else {
              this.stop('bad_framing');
              return;
            }
          }
          break;
        }
        case CHUNK_DATA: {
          const take = e - s < this.bodyLeft ? e - s : this.bodyLeft;
          this.bodyLeft -= take;
          this.bodyBytes += take;
          s += take;
          if (this.bodyLeft === 0) this.mode = CHUNK_DATA_END;
          break;
        }
        case CHUNK_DATA_END: {
          const c = buf[s++];
          if (c === LF) this.mode = CHUNK_SIZE;
          else if (c !== CR) {
            this.stop('bad_framing');
            return;
          }
          break;
        }
        case TRAILER: {
          const c = buf[s++];
          if (c === LF) {
            if (this.lineLen === 0) this.endMessage(tsUs);
            this.lineLen = 0;
          } else if (c !== CR) this.lineLen++;
          break;
        }
        case UNTIL_CLOSE:
          this.bodyBytes += e - s;
          return;
        default:
          return;
      }
      segStart = false;
    }
  }

  /** Head bytes from s: returns where the head ended (or e). */
  private readHead(buf: Uint8Array, s: number, e: number, tsUs: number, cut: boolean): number {
    if (this.headLen === 0 && this.eoh === 0) {
      // A head starting in this segment, the common case: one pass parses it
      // in place and finds its end. Anything else (a head that goes on in the
      // next segment, an invalid start line) takes the general path below.
      const h = scratchHead;
      if (parseHead(buf, s, e, this.isRequest, h)) {
        if (h.end >= 0) {
          this.started = true;
          const end = h.end;
          this.framing(this.owner.head(this, h, buf, true, tsUs));
          return end;
        }
        if (h.end === -1 && cut) {
          // Cut by the snaplen within this segment: its complete lines were read.
          this.started = true;
          this.owner.head(this, h, buf, false, tsUs);
          if (this.mode !== STOPPED) this.mode = RESYNC;
          return e;
        }
      }
    }
    return this.readHeadBytes(buf, s, e, tsUs, cut);
  }

  /** readHead's general case: the end of the head is looked for across segments; a head that spans them is copied. */
  private readHeadBytes(buf: Uint8Array, s: number, e: number, tsUs: number, cut: boolean): number {
    // The head ends at an empty line: LF followed by LF or CR LF (eoh carries a line end over segments).
    let eoh = this.eoh;
    let end = -1;
    let i = s;
    if (eoh !== 0 && i < e) {
      if (buf[i] === LF) end = i + 1;
      else if (eoh === 1 && buf[i] === CR) {
        if (i + 1 < e) {
          if (buf[i + 1] === LF) end = i + 2;
        } else eoh = 2;
        if (i + 1 >= e && end < 0) i = e;
      }
      if (end < 0 && i < e) eoh = 0;
    }
    while (end < 0 && i < e) {
      const lf = lfIndex(buf, i, e);
      if (lf < 0) {
        eoh = 0;
        break;
      }
      if (lf + 1 >= e) {
        eoh = 1;
        break;
      }
      const c = buf[lf + 1];
      if (c === LF) end = lf + 2;
      else if (c === CR) {
        if (lf + 2 >= e) {
          eoh = 2;
          break;
        }
        if (buf[lf + 2] === LF) end = lf + 3;
      }
      i = lf + 1;
    }
    if (end >= 0) eoh = 0;
    this.eoh = eoh;
    const upto = end >= 0 ? end : e;
    if (end >= 0 && this.headLen === 0) {
      // The whole head is in this segment: parsed in place, no copy.
      if (!parseHead(buf, s, end, this.isRequest, scratchHead)) {
        this.stop(this.started ? 'bad_framing' : 'not_http');
        return e;
      }
      this.started = true;
      this.framing(this.owner.head(this, scratchHead, buf, true, tsUs));
      return end;
    }
    if (end < 0 && cut && this.headLen === 0) {
      // Cut by the snaplen within this segment: read its complete lines in place.
      const ok = parseHead(buf, s, e, this.isRequest, scratchHead);
      if (!ok) {
        if (!this.started) this.stop('not_http');
        else this.mode = RESYNC;
        return e;
      }
      this.started = true;
      this.owner.head(this, scratchHead, buf, false, tsUs);
      if (this.mode !== STOPPED) this.mode = RESYNC;
      return e;
    }
    // Copy what belongs to the head.
    const n = upto - s;
    if (this.headLen + n > MAX_HEAD_BYTES) {
      this.stop('head_too_large');
      return e;
    }
    if (this.head === null) {
      this.head = takeHeadBuffer();
      if (this.head === null) {
        this.stop('memory');
        return e;
      }
    }
    copyBytes(this.head, this.headLen, buf, s, upto);
    this.headLen += n;
    if (end < 0) return e;
    const h = this.head;
    const len = this.headLen;
    if (!parseHead(h, 0, len, this.isRequest, scratchHead)) {
      this.stop(this.started ? 'bad_framing' : 'not_http');
      return e;
    }
    this.started = true;
    const framing = this.owner.head(this, scratchHead, h, true, tsUs);
    this.release();
    this.framing(framing);
    return end;
  }

  private framing(f: number): void {
    if (this.mode === STOPPED) return;
    this.bodyBytes = 0;
    switch (f) {
      case BODY_NONE:
        this.endMessage(this.lastTsUs);
        break;
      case BODY_LENGTH:
        if (this.bodyLeft === 0) this.endMessage(this.lastTsUs);
        else this.mode = BODY_LEN;
        break;
      case BODY_CHUNKED:
        this.mode = CHUNK_SIZE;
        this.chunkSize = 0;
        this.chunkDigits = 0;
        this.chunkExt = false;
        break;
      case BODY_UNTIL_CLOSE:
        this.mode = UNTIL_CLOSE;
        break;
      default:
        break;
    }
  }
}
