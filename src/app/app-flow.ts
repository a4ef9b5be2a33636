import type { ParseStop } from './http-facts';
import { beginHttpFacts, EXCHANGE_VALUES, H, HEAD_VALUES, pushHttpFacts, X, type FactsBuilder } from './http-batch';
import { M_CONNECT, M_HEAD, METHODS } from './http-facts';
import { copyBytes, giveHeadBuffer, MAX_HEAD_BYTES, takeHeadBuffer } from './head-buffers';
import type { MessageHead } from './http-message-head';
import { BODY_CHUNKED, BODY_LENGTH, BODY_NONE, BODY_STOP, BODY_UNTIL_CLOSE, HttpStream, type StreamOwner } from './http-stream';
import { looksLikeClientHello, NEED_MORE, sniFromClientHello } from './tls-client-hello';
import { seqGe } from '../tcp/seq-math';
import { MAX_VALUE_CHARS, valueText } from './value-text';

/** Exchanges stored per flow: the first STORE_FIRST and the last STORE_LAST (a ring); the others are only counted. */
const STORE_FIRST = 64;
const STORE_LAST = 64;
/** Requests without a final response yet, at most (pipelining depth); more stops the flow. */
const MAX_PENDING = STORE_LAST;
/**
 * keepalive_race by a bare RST (no FIN from the server): the request must
 * have been sent on a connection idle at least this long (an idle close, not
 * a reset in the middle of a conversation; servers' keep-alive timeouts are
 * seconds), and the RST must come within RST_WITHIN_US of it, either way
 * (the server's close-time work plus a round trip; a reset much later is the
 * server giving up on a request it was processing, not an idle close).
 */
export const RST_RACE_MIN_IDLE_US = 1_000_000;
export const RST_RACE_WITHIN_US = 1_000_000;

// Exchange slot layout (numbers; NaN = unknown).
const X_REQ_TS = 0;
const X_FIRST_RESP = 1;
const X_RESP_END = 2;
const X_METHOD = 3;
const X_STATUS = 4;
const X_REQ_BODY = 5;
const X_RESP_BODY = 6;
const X_REQ_SEQ = 7;
const STRIDE = 8;

const P_NONE = 0;
const P_HTTP = 1;
const P_TLS = 2;


/**
 * The application-layer state of one TCP flow: an HttpStream per direction
 * (http-stream.ts) and the facts they produce, bounded: at most
 * STORE_FIRST + STORE_LAST exchanges of STRIDE numbers, four short strings,
 * and a message-head buffer per direction only while a head spans segments.
 * Made on a flow's first payload segment; a flow found not to be HTTP or TLS
 * drops it (tcp-flow.ts keeps NOT_APP instead, nothing more is read).
 */
export class AppFlow implements StreamOwner {
  readonly orig: HttpStream;
  readonly resp: HttpStream;
  private protocol = P_NONE;
  private requests = 0;
  private responses = 0;
  /** Exchanges so far (logical indices 0 .. nEx-1) and the first one still waiting for its final response. */
  private nEx = 0;
  private answered = 0;
  private readonly ex: number[] = [];
  private firstTsUs = NaN;
  private lastTsUs = NaN;
  private userAgent: string | null = null;
  private server: string | null = null;
  private host: string | null = null;
  /** Bits: 1 orig sent Connection: close, 2 resp did. */
  private closeBy = 0;
  private kaTimeout = -1;
  private kaMax = -1;
  private longestIdleUs = -1;
  /** End of the last final response while nothing was outstanding (-1 none; NaN: its end is unknown, use the last response byte). */
  private lastRespEndUs = -1;
  private sni: string | null = null;
  private truncated = 0;
  /** Where the current message of each direction began. */
  private reqStartTsUs = 0;
  private reqStartSeq = 0;
  private respStartTsUs = 0;
  /** The response being read is a 1xx interim one. */
  private interim = false;
  /** Time of the last response byte seen (for unframed responses). */
  private lastRespByteUs = -1;
  /** The last request sent on an idle connection (nothing outstanding, a response ended before it): its exchange index (-1 none) and the idle time before it. */
  private idleReqK = -1;
  private idleReqGapUs = 0;
  /** Scratch of encode(): the first race request's time, set by race() (NaN: none). */
  private raceReqTsUs = NaN;
  /** The responder's first FIN: its acknowledgment number (NaN: not seen). */
  respFinAck = NaN;
  /** A ClientHello longer than its first segment is gathered here (bounded). */
  private tls: Buffer | null = null;
  private tlsLen = 0;

  constructor() {
    this.orig = new HttpStream(this, true);
    this.resp = new HttpStream(this, false);
  }

  /** Nothing to keep: a direction's first bytes were not HTTP (nor TLS) before any head was read, or both stopped. */
  get dead(): boolean {
    if (this.protocol !== P_NONE) return false;
    return this.orig.stopReason === 'not_http' || this.resp.stopReason === 'not_http' || (this.orig.stopped && this.resp.stopped);
  }

  /** Both directions are done (stopped): payload need not be handed over any more. */
  get done(): boolean {
    return this.orig.stopped && this.resp.stopped && this.tls === null;
  }

  /**
   * No later segment can change the facts: each direction has read every
   * byte before its FIN (or stopped), and no ClientHello is being gathered.
   */
  settled(origFinSeq: number, respFinSeq: number): boolean {
    return this.tls === null && this.orig.readTo(origFinSeq) && this.resp.readTo(respFinSeq);
  }

  /** The direction has had payload (its first sequence number is known). */
  started(fromOrig: boolean): boolean {
    return (fromOrig ? this.orig : this.resp).seqKnown;
  }

  /** Bytes of one segment (captured at buf[off, off + capLen) of wireLen), `seq` of its first byte. */
  segment(fromOrig: boolean, seq: number, firstSeq: number, buf: Uint8Array, off: number, capLen: number, wireLen: number, tsUs: number): void {
    if (this.tls !== null) {
      if (fromOrig) this.moreClientHello(buf, off, capLen, wireLen);
      return;
    }
    (fromOrig ? this.orig : this.resp).segment(seq, firstSeq, buf, off, capLen, wireLen, tsUs);
    if (!fromOrig && capLen > 0) this.lastRespByteUs = tsUs;
  }

  /** The direction's sender sent its FIN (`ack`: the FIN segment's acknowledgment number). */
  fin(fromOrig: boolean, ack: number): void {
    (fromOrig ? this.orig : this.resp).fin();
    if (!fromOrig && this.respFinAck !== this.respFinAck) this.respFinAck = ack;
  }

  /** As new, for reuse by another flow (app-hook.ts); call release() first. */
  reset(): void {
    this.orig.reset();
    this.resp.reset();
    this.protocol = P_NONE;
    this.requests = 0;
    this.responses = 0;
    this.nEx = 0;
    this.answered = 0;
    this.firstTsUs = NaN;
    this.lastTsUs = NaN;
    this.userAgent = null;
    this.server = null;
    this.host = null;
    this.closeBy = 0;
    this.kaTimeout = -1;
    this.kaMax = -1;
    this.longestIdleUs = -1;
    this.lastRespEndUs = -1;
    this.sni = null;
    this.truncated = 0;
    this.reqStartTsUs = 0;
    this.reqStartSeq = 0;
    this.respStartTsUs = 0;
    this.interim = false;
    this.lastRespByteUs = -1;
    this.idleReqK = -1;
    this.idleReqGapUs = 0;
    this.respFinAck = NaN;
    this.tlsLen = 0;
  }

  /** Give back buffers (the flow is written out for good). */
  release(): void {
    this.orig.release();
    this.resp.release();
    if (this.tls !== null) {
      giveHeadBuffer(this.tls);
      this.tls = null;
    }
  }

  // --- StreamOwner -----------------------------------------------------------

  messageStart(s: HttpStream, tsUs: number, seq: number): void {
    if (s.isRequest) {
      this.reqStartTsUs = tsUs;
      this.reqStartSeq = seq;
    } else {
      this.respStartTsUs = tsUs;
    }
  }

  head(s: HttpStream, h: MessageHead, buf: Uint8Array, complete: boolean, tsUs: number): number {
    this.protocol = P_HTTP;
    if (!complete) this.truncated++;
    if (h.connClose) this.closeBy |= s.isRequest ? 1 : 2;
    return s.isRequest ? this.requestHead(s, h, buf, complete) : this.responseHead(s, h, buf, complete, tsUs);
  }

  private requestHead(s: HttpStream, h: MessageHead, buf: Uint8Array, complete: boolean): number {
    const ts = this.reqStartTsUs;
    if (this.nEx - this.answered >= MAX_PENDING) {
      s.stop('too_many_pending');
      return BODY_STOP;
    }
    if (this.nEx === this.answered) {
      // Reuse of an idle connection: how long it sat idle since the last response ended.
      const since = this.lastRespEndUs !== this.lastRespEndUs ? this.lastRespByteUs : this.lastRespEndUs;
      if (since >= 0 && ts >= since) {
        if (ts - since > this.longestIdleUs) this.longestIdleUs = ts - since;
        this.idleReqK = this.nEx;
        this.idleReqGapUs = ts - since;
      }
    }
    const x = this.newExchange();
    const ex = this.ex;
    ex[x + X_REQ_TS] = ts;
    ex[x + X_METHOD] = h.method;
    ex[x + X_REQ_SEQ] = this.reqStartSeq;
    this.requests++;
    this.seen(ts);
    if (this.userAgent === null && h.uaStart >= 0) this.userAgent = valueText(buf, h.uaStart, h.uaEnd);
    if (this.host === null && h.hostStart >= 0) this.host = valueText(buf, h.hostStart, h.hostEnd);
    if (!complete) return BODY_STOP;
    if (h.contentLength === -2 || h.otherCoding) {
      s.stop('bad_framing');
      return BODY_STOP;
    }
    if (h.chunked) return BODY_CHUNKED;
    if (h.contentLength > 0) {
      s.bodyLeft = h.contentLength;
      return BODY_LENGTH;
    }
    ex[x + X_REQ_BODY] = 0;
    return BODY_NONE;
  }

  private responseHead(s: HttpStream, h: MessageHead, buf: Uint8Array, complete: boolean, tsUs: number): number {
    if (this.answered === this.nEx) {
      // A response to a request the capture did not show.
      this.newExchange();
    }
    const x = this.slot(this.answered);
    const ex = this.ex;
    if (ex[x + X_FIRST_RESP] !== ex[x + X_FIRST_RESP]) ex[x + X_FIRST_RESP] = this.respStartTsUs;
    this.seen(this.respStartTsUs);
    const status = h.status;
    ex[x + X_STATUS] = status;
    if (this.server === null && h.serverStart >= 0) this.server = valueText(buf, h.serverStart, h.serverEnd);
    if (this.kaTimeout < 0 && h.keepAliveTimeout >= 0) this.kaTimeout = h.keepAliveTimeout;
    if (this.kaMax < 0 && h.keepAliveMax >= 0) this.kaMax = h.keepAliveMax;
    const method = ex[x + X_METHOD];
    this.interim = status < 200 && status !== 101;
    if (!complete) {
      // Cut by the snaplen: its status is known, its end is not.
      if (!this.interim) this.answer(NaN, NaN);
      this.interim = false;
      return BODY_STOP;
    }
    if (this.interim) return BODY_NONE;
    if (status === 101 || (method === M_CONNECT && status >= 200 && status < 300)) {
      // Another protocol follows on both directions.
      this.answer(tsUs, 0);
      this.orig.stop('upgrade');
      s.stop('upgrade');
      return BODY_STOP;
    }
    if (method === M_HEAD || status === 204 || status === 304) return BODY_NONE;
    if (h.chunked) return BODY_CHUNKED;
    if (h.otherCoding) return BODY_UNTIL_CLOSE;
    if (h.contentLength === -2) {
      s.stop('bad_framing');
      return BODY_STOP;
    }
    if (h.contentLength >= 0) {
      s.bodyLeft = h.contentLength;
      return BODY_LENGTH;
    }
    return BODY_UNTIL_CLOSE;
  }

  messageEnd(s: HttpStream, tsUs: number, bodyBytes: number): void {
    this.seen(tsUs);
    if (s.isRequest) {
      this.ex[this.slot(this.nEx - 1) + X_REQ_BODY] = bodyBytes;
      return;
    }
    if (this.interim) {
      this.interim = false;
      return;
    }
    this.answer(tsUs, bodyBytes);
  }

  notHttp(s: HttpStream, buf: Uint8Array, off: number, end: number): boolean {
    if (!s.isRequest || this.protocol !== P_NONE || this.resp.started) return false;
    if (looksLikeClientHello(buf, off, end) !== 1) return false;
    this.protocol = P_TLS;
    const r = sniFromClientHello(buf, off, end);
    if (r === NEED_MORE) {
      const b = takeHeadBuffer();
      if (b !== null) {
        const n = Math.min(end - off, MAX_HEAD_BYTES);
        copyBytes(b, 0, buf, off, off + n);
        this.tls = b;
        this.tlsLen = n;
      }
    } else if (typeof r === 'string') this.sni = r.length > MAX_VALUE_CHARS ? r.slice(0, MAX_VALUE_CHARS) : r;
    this.orig.stop('tls');
    this.resp.stop('tls');
    return true;
  }

  private moreClientHello(buf: Uint8Array, off: number, capLen: number, wireLen: number): void {
    const b = this.tls as Buffer;
    const n = Math.min(capLen, MAX_HEAD_BYTES - this.tlsLen);
    copyBytes(b, this.tlsLen, buf, off, off + n);
    this.tlsLen += n;
    const r = capLen < wireLen ? 0 : sniFromClientHello(b, 0, this.tlsLen);
    if (r === NEED_MORE && this.tlsLen < MAX_HEAD_BYTES) return;
    if (typeof r === 'string') this.sni = r.length > MAX_VALUE_CHARS ? r.slice(0, MAX_VALUE_CHARS) : r;
    giveHeadBuffer(b);
    this.tls = null;
  }

  // ---------------------------------------------------------------------------

  private seen(tsUs: number): void {
    if (tsUs !== tsUs) return;
    if (this.firstTsUs !== this.firstTsUs || tsUs < this.firstTsUs) this.firstTsUs = tsUs;
    if (this.lastTsUs !== this.lastTsUs || tsUs > this.lastTsUs) this.lastTsUs = tsUs;
  }

  /** The exchange at `answered` got its final response. */
  private answer(endTsUs: number, bodyBytes: number): void {
    const x = this.slot(this.answered);
    this.ex[x + X_RESP_END] = endTsUs;
    this.ex[x + X_RESP_BODY] = bodyBytes;
    this.answered++;
    this.responses++;
    if (this.answered === this.nEx) this.lastRespEndUs = endTsUs;
  }

  /** Position of logical exchange k in `ex` (it must be one of the stored ones). */
  private slot(k: number): number {
    return (k < STORE_FIRST ? k : STORE_FIRST + ((k - STORE_FIRST) % STORE_LAST)) * STRIDE;
  }

  private stored(k: number): boolean {
    return k < STORE_FIRST || k >= this.nEx - STORE_LAST;
  }

  /** Start exchange nEx (all values unknown); returns its slot position. */
  private newExchange(): number {
    const x = this.slot(this.nEx++);
    const ex = this.ex;
    while (ex.length < x + STRIDE) ex.push(NaN);
    for (let i = 0; i < STRIDE; i++) ex[x + i] = NaN;
    return x;
  }

  /**
   * keepalive_race requests (0: not a race), never when the server had
   * announced Connection: close (the client was told). Two forms:
   *  - FIN: a request sent after the responder's FIN, or crossing it (the FIN
   *    did not acknowledge it), that got no response at all;
   *  - RST: the responder sent a bare RST and no FIN, and the first request
   *    without a response was sent on a reused connection (an earlier
   *    response had ended) after at least RST_RACE_MIN_IDLE_US idle, the RST
   *    within RST_RACE_WITHIN_US of it (before or after: it crossed the
   *    request or answered it unread). Counted: that request and those after
   *    it, none with any response byte. A reset of a fresh connection's first
   *    request, or after a response began, is not a race.
   */
  private race(respFinFirst: boolean, finTsUs: number, rstTsUs: number): number {
    this.raceReqTsUs = NaN;
    if ((this.closeBy & 2) !== 0) return 0;
    const ex = this.ex;
    let n = 0;
    if (respFinFirst && finTsUs >= 0) {
      for (let k = Math.max(this.answered, 0); k < this.nEx; k++) {
        if (!this.stored(k)) continue;
        const x = this.slot(k);
        const reqTs = ex[x + X_REQ_TS];
        if (reqTs !== reqTs || ex[x + X_FIRST_RESP] === ex[x + X_FIRST_RESP]) continue;
        const crossed = this.respFinAck === this.respFinAck && seqGe(ex[x + X_REQ_SEQ], this.respFinAck);
        if (reqTs >= finTsUs || crossed) {
          if (n++ === 0) this.raceReqTsUs = reqTs;
        }
      }
      return n;
    }
    if (respFinFirst || rstTsUs < 0) return 0;
    const k0 = this.answered;
    if (k0 === 0 || k0 >= this.nEx || this.idleReqK !== k0 || this.idleReqGapUs < RST_RACE_MIN_IDLE_US || !this.stored(k0)) return 0;
    const x0 = this.slot(k0);
    const reqTs = ex[x0 + X_REQ_TS];
    if (reqTs !== reqTs || Math.abs(rstTsUs - reqTs) > RST_RACE_WITHIN_US) return 0;
    for (let k = k0; k < this.nEx; k++) {
      if (!this.stored(k)) continue;
      const x = this.slot(k);
      if (ex[x + X_FIRST_RESP] === ex[x + X_FIRST_RESP]) return 0;
      if (ex[x + X_REQ_TS] === ex[x + X_REQ_TS]) n++;
    }
    if (n > 0) this.raceReqTsUs = reqTs;
    return n;
  }

  /**
   * Append the facts as they stand to a flow batch (http-batch.ts layout; the
   * empty part when the flow carried neither HTTP nor TLS). From the TCP
   * flow: `respFinFirst`, `finTsUs`: the responder sent the flow's first FIN,
   * at that time; `rstTsUs`: the time of the responder's RST when it sent no
   * FIN and the RST was the flow's first close signal (-1 otherwise).
   */
  encode(b: FactsBuilder, respFinFirst: boolean, finTsUs: number, rstTsUs: number): void {
    if (this.protocol === P_NONE) {
      pushHttpFacts(b, null);
      return;
    }
    const ex = this.ex;
    const first = this.nEx < STORE_FIRST ? this.nEx : STORE_FIRST;
    const lastFrom = Math.max(first, this.nEx - STORE_LAST);
    const stored = first + (this.nEx - lastFrom);
    const race = this.race(respFinFirst, finTsUs, rstTsUs);
    const signal = race > 0 ? (respFinFirst ? 'fin' : 'rst') : null;
    const signalToRequest = race > 0 ? this.raceReqTsUs - (respFinFirst ? finTsUs : rstTsUs) : NaN;
    const stop: ParseStop | null = this.orig.stopReason ?? this.resp.stopReason;
    const p = beginHttpFacts(b, stored);
    const a = b.nums;
    a[p + H.PROTOCOL] = this.protocol === P_TLS ? 1 : 0;
    a[p + H.REQUESTS] = this.requests;
    a[p + H.RESPONSES] = this.responses;
    a[p + H.FIRST_TS] = this.firstTsUs;
    a[p + H.LAST_TS] = this.lastTsUs;
    a[p + H.USER_AGENT] = b.text(this.userAgent);
    a[p + H.SERVER] = b.text(this.server);
    a[p + H.HOST] = b.text(this.host);
    a[p + H.CLOSE_BY] = b.text(this.closeBy === 0 ? null : CLOSE_BY[this.closeBy]);
    a[p + H.KA_TIMEOUT] = this.kaTimeout >= 0 ? this.kaTimeout : NaN;
    a[p + H.KA_MAX] = this.kaMax >= 0 ? this.kaMax : NaN;
    a[p + H.LONGEST_IDLE] = this.longestIdleUs >= 0 ? this.longestIdleUs : NaN;
    a[p + H.SNI] = b.text(this.sni);
    a[p + H.TRUNCATED] = this.truncated;
    a[p + H.PARSE_STOP] = b.text(stop);
    a[p + H.CLOSE_KIND] = b.text(race > 0 ? 'keepalive_race' : null);
    a[p + H.RACE_REQUESTS] = race;
    a[p + H.FIN_TO_REQUEST] = signal === 'fin' ? signalToRequest : NaN;
    a[p + H.RACE_SIGNAL] = b.text(signal);
    a[p + H.SIGNAL_TO_REQUEST] = signalToRequest;
    a[p + H.DROPPED] = this.nEx - stored;
    let q = p + HEAD_VALUES;
    for (let k = 0; k < this.nEx; k++) {
      if (k === first) k = lastFrom;
      if (k >= this.nEx) break;
      const x = this.slot(k);
      const m = ex[x + X_METHOD];
      a[q + X.REQ_TS] = ex[x + X_REQ_TS];
      a[q + X.FIRST_RESP] = ex[x + X_FIRST_RESP];
      a[q + X.RESP_END] = ex[x + X_RESP_END];
      a[q + X.METHOD] = m === m ? methodText(b, m) : NaN;
      a[q + X.STATUS] = ex[x + X_STATUS];
      a[q + X.REQ_BODY] = ex[x + X_REQ_BODY];
      a[q + X.RESP_BODY] = ex[x + X_RESP_BODY];
      q += EXCHANGE_VALUES;
    }
  }
}

const CLOSE_BY: readonly (string | null)[] = [null, 'orig', 'resp', 'both'];

/** The text-table index of each method in the batch being built (its table changes when a batch is taken): one lookup per batch, not per exchange. */
let methodTable: readonly string[] | null = null;
const methodIndex = new Float64Array(METHODS.length);

function methodText(b: FactsBuilder, m: number): number {
  if (b.texts !== methodTable) {
    methodTable = b.texts;
    methodIndex.fill(-1);
  }
  let i = methodIndex[m];
  if (i < 0) methodIndex[m] = i = b.text(METHODS[m]);
  return i;
}
