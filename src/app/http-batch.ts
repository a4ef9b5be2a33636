import type { CloseRequestedBy, HttpExchange, HttpFlowFacts, ParseStop, RaceSignal } from './http-facts';

/**
 * A flow's HttpFlowFacts as the last part of its record in a flow batch
 * (flow-batch.ts): a count n of the values that follow (0: no facts), then
 * the H values and, per stored exchange, the X values. Texts are indices
 * into the batch's text table, NaN is null. Written straight from the
 * parser state by AppFlow.encode (no object per flow) or from an
 * HttpFlowFacts by pushHttpFacts; read back by readHttpFacts.
 */
export const enum H {
  PROTOCOL = 0,
  REQUESTS = 1,
  RESPONSES = 2,
  FIRST_TS = 3,
  LAST_TS = 4,
  USER_AGENT = 5,
  SERVER = 6,
  HOST = 7,
  CLOSE_BY = 8,
  KA_TIMEOUT = 9,
  KA_MAX = 10,
  LONGEST_IDLE = 11,
  SNI = 12,
  TRUNCATED = 13,
  PARSE_STOP = 14,
  CLOSE_KIND = 15,
  RACE_REQUESTS = 16,
  FIN_TO_REQUEST = 17,
  RACE_SIGNAL = 18,
  SIGNAL_TO_REQUEST = 19,
  DROPPED = 20,
  EXCHANGES = 21,
}
export const HEAD_VALUES = 22;

/** Values of one exchange, from the exchange's position. */
export const enum X {
  REQ_TS = 0,
  FIRST_RESP = 1,
  RESP_END = 2,
  METHOD = 3,
  STATUS = 4,
  REQ_BODY = 5,
  RESP_BODY = 6,
}
export const EXCHANGE_VALUES = 7;

/** What the facts part is written into: a flow batch (flow-batch.ts), or a flow's frozen copy (frozen-http-facts.ts). */
export interface FactsBuilder {
  /** The values (may be replaced by reserve(): read it after reserving). */
  nums: Float64Array;
  length: number;
  reserve(n: number): void;
  push(v: number): void;
  /** Index of a text in `texts`; null → NaN. */
  text(s: string | null): number;
  readonly texts: readonly string[];
}

/** Positions in the H values that hold texts. */
const TEXT_FIELDS = [H.USER_AGENT, H.SERVER, H.HOST, H.CLOSE_BY, H.SNI, H.PARSE_STOP, H.CLOSE_KIND, H.RACE_SIGNAL] as const;

/**
 * Append a facts part written elsewhere: `part` is it as beginHttpFacts laid
 * it out (the count first), its text indices into `texts`; here they become
 * indices into b's table.
 */
export function pushHttpFactsPart(b: FactsBuilder, part: readonly number[], texts: readonly string[]): void {
  const n = part.length;
  b.reserve(n);
  const a = b.nums;
  const at = b.length;
  for (let i = 0; i < n; i++) a[at + i] = part[i];
  b.length = at + n;
  if (n === 1) return;
  const p = at + 1;
  for (const f of TEXT_FIELDS) {
    const v = a[p + f];
    if (v === v) a[p + f] = b.text(texts[v]);
  }
  const end = at + n;
  for (let q = p + HEAD_VALUES + X.METHOD; q < end; q += EXCHANGE_VALUES) {
    const v = a[q];
    if (v === v) a[q] = b.text(texts[v]);
  }
}

const nn = (v: number | null): number => (v === null ? NaN : v);
const orNull = (v: number): number | null => (v === v ? v : null);
const text = (texts: readonly string[], v: number): string | null => (v === v ? texts[v] : null);

/** Reserve the facts part for `exchanges` exchanges; returns the position of its H values (b.nums is valid after this). */
export function beginHttpFacts(b: FactsBuilder, exchanges: number): number {
  const n = HEAD_VALUES + exchanges * EXCHANGE_VALUES;
  b.reserve(1 + n);
  b.push(n);
  const p = b.length;
  b.length += n;
  b.nums[p + H.EXCHANGES] = exchanges;
  return p;
}

/** Append a flow's facts (or the empty part). */
export function pushHttpFacts(b: FactsBuilder, f: HttpFlowFacts | null | undefined): void {
  if (f === null || f === undefined) {
    b.reserve(1);
    b.push(0);
    return;
  }
  const p = beginHttpFacts(b, f.exchanges.length);
  const a = b.nums;
  a[p + H.PROTOCOL] = f.protocol === 'tls' ? 1 : 0;
  a[p + H.REQUESTS] = f.requests;
  a[p + H.RESPONSES] = f.responses;
  a[p + H.FIRST_TS] = nn(f.firstExchangeTsUs);
  a[p + H.LAST_TS] = nn(f.lastExchangeTsUs);
  a[p + H.USER_AGENT] = b.text(f.userAgent);
  a[p + H.SERVER] = b.text(f.server);
  a[p + H.HOST] = b.text(f.host);
  a[p + H.CLOSE_BY] = b.text(f.connectionCloseBy);
  a[p + H.KA_TIMEOUT] = nn(f.keepAliveTimeoutS);
  a[p + H.KA_MAX] = nn(f.keepAliveMax);
  a[p + H.LONGEST_IDLE] = nn(f.longestReuseIdleUs);
  a[p + H.SNI] = b.text(f.tlsSni);
  a[p + H.TRUNCATED] = f.headsTruncatedBySnaplen;
  a[p + H.PARSE_STOP] = b.text(f.parseStop);
  a[p + H.CLOSE_KIND] = b.text(f.closeKind);
  a[p + H.RACE_REQUESTS] = f.raceRequests;
  a[p + H.FIN_TO_REQUEST] = nn(f.finToRequestUs);
  a[p + H.RACE_SIGNAL] = b.text(f.raceSignal);
  a[p + H.SIGNAL_TO_REQUEST] = nn(f.signalToRequestUs);
  a[p + H.DROPPED] = f.exchangesDropped;
  let q = p + HEAD_VALUES;
  for (const x of f.exchanges) {
    a[q + X.REQ_TS] = nn(x.requestTsUs);
    a[q + X.FIRST_RESP] = nn(x.firstResponseTsUs);
    a[q + X.RESP_END] = nn(x.responseEndTsUs);
    a[q + X.METHOD] = b.text(x.method);
    a[q + X.STATUS] = nn(x.status);
    a[q + X.REQ_BODY] = nn(x.requestBodyBytes);
    a[q + X.RESP_BODY] = nn(x.responseBodyBytes);
    q += EXCHANGE_VALUES;
  }
}

/** Position after the facts part starting at p. */
export function skipHttpFacts(a: Float64Array, p: number): number {
  return p + 1 + a[p];
}

/** The facts part at p (null when empty). */
export function readHttpFacts(a: Float64Array, p: number, texts: readonly string[]): HttpFlowFacts | null {
  if (a[p] === 0) return null;
  p++;
  const f: HttpFlowFacts = {
    protocol: a[p + H.PROTOCOL] === 1 ? 'tls' : 'http',
    requests: a[p + H.REQUESTS],
    responses: a[p + H.RESPONSES],
    firstExchangeTsUs: orNull(a[p + H.FIRST_TS]),
    lastExchangeTsUs: orNull(a[p + H.LAST_TS]),
    userAgent: text(texts, a[p + H.USER_AGENT]),
    server: text(texts, a[p + H.SERVER]),
    host: text(texts, a[p + H.HOST]),
    connectionCloseBy: text(texts, a[p + H.CLOSE_BY]) as CloseRequestedBy | null,
    keepAliveTimeoutS: orNull(a[p + H.KA_TIMEOUT]),
    keepAliveMax: orNull(a[p + H.KA_MAX]),
    longestReuseIdleUs: orNull(a[p + H.LONGEST_IDLE]),
    tlsSni: text(texts, a[p + H.SNI]),
    headsTruncatedBySnaplen: a[p + H.TRUNCATED],
    parseStop: text(texts, a[p + H.PARSE_STOP]) as ParseStop | null,
    closeKind: text(texts, a[p + H.CLOSE_KIND]) as 'keepalive_race' | null,
    raceRequests: a[p + H.RACE_REQUESTS],
    finToRequestUs: orNull(a[p + H.FIN_TO_REQUEST]),
    raceSignal: text(texts, a[p + H.RACE_SIGNAL]) as RaceSignal | null,
    signalToRequestUs: orNull(a[p + H.SIGNAL_TO_REQUEST]),
    exchangesDropped: a[p + H.DROPPED],
    exchanges: [],
  };
  const n = a[p + H.EXCHANGES];
  let q = p + HEAD_VALUES;
  for (let i = 0; i < n; i++, q += EXCHANGE_VALUES) {
    const x: HttpExchange = {
      requestTsUs: orNull(a[q + X.REQ_TS]),
      firstResponseTsUs: orNull(a[q + X.FIRST_RESP]),
      responseEndTsUs: orNull(a[q + X.RESP_END]),
      method: text(texts, a[q + X.METHOD]),
      status: orNull(a[q + X.STATUS]),
      requestBodyBytes: orNull(a[q + X.REQ_BODY]),
      responseBodyBytes: orNull(a[q + X.RESP_BODY]),
    };
    f.exchanges.push(x);
  }
  return f;
}
