import type Database from 'better-sqlite3';
import { EXCHANGE_VALUES, H, HEAD_VALUES, skipHttpFacts, X } from '../app/http-batch';

/** http_flows rows per multi-row INSERT (fewer calls into SQLite). */
const BLOCK = 32;
const COLUMNS = 24;
const INSERT_HEAD = `INSERT OR REPLACE INTO http_flows (flow_id, protocol, requests, responses, first_exchange_ts,
  last_exchange_ts, user_agent, server, host, connection_close_by, keepalive_timeout, keepalive_max, longest_reuse_idle,
  tls_sni, heads_truncated_by_snaplen, parse_stop, close_kind, race_requests, fin_to_request, race_signal, signal_to_request,
  exchanges_dropped, exchanges_base_us, exchanges) VALUES `;
const ROW = `(${Array(COLUMNS).fill('?').join(', ')})`;

const sec = (us: number): number | null => (us === us ? us / 1e6 : null);
const num = (v: number): number | null => (v === v ? v : null);
const text = (texts: readonly string[], v: number): string | null => (v === v ? texts[v] : null);

/** The exchanges column's bytes (exchangesJson), reused; grown for a flow with more exchanges. */
let jsonBytes = Buffer.allocUnsafe(16 * 1024);
let jsonLen = 0;
const NULL_TEXT = 'null';
const MAX_METHOD_BYTES = 64;

function putText(t: string): void {
  for (let i = 0; i < t.length; i++) jsonBytes[jsonLen++] = t.charCodeAt(i);
}

function putNum(v: number): void {
  if (v !== v) {
    putText(NULL_TEXT);
    return;
  }
  if (!Number.isInteger(v) || v >= 1e15 || v <= -1e15) {
    putText(String(v));
    return;
  }
  if (v < 0) {
    jsonBytes[jsonLen++] = 0x2d;
    v = -v;
  }
  // Digits of a non-negative integer below 1e15, least significant first, then turned around.
  let i = jsonLen;
  do {
    const q = Math.floor(v / 10);
    jsonBytes[jsonLen++] = 0x30 + (v - q * 10);
    v = q;
  } while (v > 0);
  for (let j = jsonLen - 1; i < j; i++, j--) {
    const c = jsonBytes[i];
    jsonBytes[i] = jsonBytes[j];
    jsonBytes[j] = c;
  }
}

/** A method text the byte buffer holds as it is: short, one byte per character. */
function plainMethod(t: string): boolean {
  if (t.length > MAX_METHOD_BYTES) return false;
  for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) > 0xff) return false;
  return true;
}

const jsonNum = (v: number): string => (v === v ? String(v) : 'null');

/** exchangesJson built as text, for a method text the byte buffer would not hold as it is (the parser never makes one). */
function exchangesJsonText(a: Float64Array, x: number, n: number, base: number, texts: readonly string[]): string {
  let json = '[';
  for (let i = 0; i < n; i++, x += EXCHANGE_VALUES) {
    const m = a[x + X.METHOD];
    json +=
      `${i === 0 ? '[' : ',['}${jsonNum(a[x + X.REQ_TS] - base)},${jsonNum(a[x + X.FIRST_RESP] - base)},${jsonNum(a[x + X.RESP_END] - base)},` +
      `${m === m ? `"${texts[m]}"` : 'null'},${jsonNum(a[x + X.STATUS])},${jsonNum(a[x + X.REQ_BODY])},${jsonNum(a[x + X.RESP_BODY])}]`;
  }
  return json + ']';
}

/**
 * The exchanges column: [[request_dt_us, first_response_dt_us,
 * response_end_dt_us, method, status, request_body_bytes,
 * response_body_bytes], ...], times in integer µs since the flow's first
 * exchange (schema.ts, version 6), null for NaN, each number as String()
 * writes it. Built as bytes in one reused buffer and made a string once
 * (a template literal per exchange made ~20 strings per exchange for the
 * writer thread's collector). Methods are HTTP tokens: no quoting needed.
 * `x`: the first exchange's position in `a`, `n` exchanges.
 */
export function exchangesJson(a: Float64Array, x: number, n: number, base: number, texts: readonly string[]): string {
  // At most 7 numbers of 24 characters (String() of any double), a method and 12 punctuation bytes per exchange.
  const need = 2 + n * (7 * 24 + 12 + MAX_METHOD_BYTES);
  if (jsonBytes.length < need) jsonBytes = Buffer.allocUnsafe(need * 2);
  jsonLen = 0;
  jsonBytes[jsonLen++] = 0x5b;
  for (let i = 0; i < n; i++, x += EXCHANGE_VALUES) {
    if (i > 0) jsonBytes[jsonLen++] = 0x2c;
    jsonBytes[jsonLen++] = 0x5b;
    putNum(a[x + X.REQ_TS] - base);
    jsonBytes[jsonLen++] = 0x2c;
    putNum(a[x + X.FIRST_RESP] - base);
    jsonBytes[jsonLen++] = 0x2c;
    putNum(a[x + X.RESP_END] - base);
    jsonBytes[jsonLen++] = 0x2c;
    const m = a[x + X.METHOD];
    if (m === m) {
      const t = texts[m];
      if (!plainMethod(t)) return exchangesJsonText(a, x - i * EXCHANGE_VALUES, n, base, texts);
      jsonBytes[jsonLen++] = 0x22;
      putText(t);
      jsonBytes[jsonLen++] = 0x22;
    } else putText(NULL_TEXT);
    jsonBytes[jsonLen++] = 0x2c;
    putNum(a[x + X.STATUS]);
    jsonBytes[jsonLen++] = 0x2c;
    putNum(a[x + X.REQ_BODY]);
    jsonBytes[jsonLen++] = 0x2c;
    putNum(a[x + X.RESP_BODY]);
    jsonBytes[jsonLen++] = 0x5d;
  }
  jsonBytes[jsonLen++] = 0x5d;
  return jsonBytes.toString('latin1', 0, jsonLen);
}

/**
 * Writes the HTTP/TLS part of a flow's batch record (src/app/http-batch.ts)
 * into http_flows, in the caller's transaction, beside the flow row, bound
 * straight from the batch's numbers (no object per flow). Rows are queued
 * and inserted BLOCK at a time; flush() writes the rest (the flow store
 * calls it at the end of every batch). A flow written again (live upserts)
 * has its row replaced.
 */
export class HttpFactsWriter {
  private readonly insert: Database.Statement;
  private readonly insertBlock: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly pending: (string | number | null)[] = [];

  constructor(db: Database.Database) {
    this.insert = db.prepare(INSERT_HEAD + ROW);
    this.insertBlock = db.prepare(INSERT_HEAD + Array(BLOCK).fill(ROW).join(', '));
    this.remove = db.prepare('DELETE FROM http_flows WHERE flow_id = ?');
  }

  /** The facts part at p of a batch; `existing`: the flow row was there before (an update). Returns the position after it. */
  write(flowId: number, a: Float64Array, p: number, texts: readonly string[], existing: boolean): number {
    const next = skipHttpFacts(a, p);
    if (a[p] === 0) {
      if (existing) {
        this.flush();
        this.remove.run(flowId);
      }
      return next;
    }
    const q = p + 1;
    const base = a[q + H.FIRST_TS];
    const json = exchangesJson(a, q + HEAD_VALUES, a[q + H.EXCHANGES], base, texts);
    const v = this.pending;
    v.push(
      flowId,
      a[q + H.PROTOCOL] === 1 ? 'tls' : 'http',
      a[q + H.REQUESTS],
      a[q + H.RESPONSES],
      sec(a[q + H.FIRST_TS]),
      sec(a[q + H.LAST_TS]),
      text(texts, a[q + H.USER_AGENT]),
      text(texts, a[q + H.SERVER]),
      text(texts, a[q + H.HOST]),
      text(texts, a[q + H.CLOSE_BY]),
      num(a[q + H.KA_TIMEOUT]),
      num(a[q + H.KA_MAX]),
      sec(a[q + H.LONGEST_IDLE]),
      text(texts, a[q + H.SNI]),
      a[q + H.TRUNCATED],
      text(texts, a[q + H.PARSE_STOP]),
      text(texts, a[q + H.CLOSE_KIND]),
      a[q + H.RACE_REQUESTS],
      sec(a[q + H.FIN_TO_REQUEST]),
      text(texts, a[q + H.RACE_SIGNAL]),
      sec(a[q + H.SIGNAL_TO_REQUEST]),
      a[q + H.DROPPED],
      num(base),
      json,
    );
    if (v.length === BLOCK * COLUMNS) {
      this.insertBlock.run(...v);
      v.length = 0;
    }
    return next;
  }

  /** Insert the queued rows (end of a batch, or before a delete). */
  flush(): void {
    const v = this.pending;
    for (let i = 0; i < v.length; i += COLUMNS) this.insert.run(...v.slice(i, i + COLUMNS));
    v.length = 0;
  }

  /** Forget queued rows (the transaction was rolled back). */
  discard(): void {
    this.pending.length = 0;
  }
}
