import { pushHttpFacts, readHttpFacts, skipHttpFacts } from '../app/http-batch';
import type { DirectionStats, Endpoint, FlowRecord, SocketOwner, TcpState, Transition } from './flow-record';
import { STATE_NAMES } from './tcp-state-codes';
import { causeName, MAX_CAUSES } from './transition-log';

/**
 * Flow records packed as numbers: every value of a batch of flows in ONE
 * Float64Array (transferable to the database writer's thread without a copy)
 * and every text in ONE string table (an array of strings, cheap to clone; the
 * state names, close kinds, causes and the server's address repeat, so each
 * is stored once per batch). The fields are those of FlowRecord, with the
 * same units (integer µs).
 *
 * Per flow: FIXED values at the F positions (text: the table index; a
 * DirectionStats: at F.ORIG / F.RESP + S offsets; NaN = null), then
 *   n, n × (name, count)                           anomalies,
 *   n, n × (tsUs, endpoint, from, to, cause)       transitions,
 *   n, n × (endpoint, pid, command)                socket owners,
 *   n, n values                                    HTTP/TLS facts (src/app/http-batch.ts),
 * endpoint 0 = orig, 1 = resp.
 *
 * The TCP engine writes batches straight from its flows (encodeFlow in
 * flow-record-builder.ts); encodeFlowRecord / decodeFlowRecord convert
 * between batches and FlowRecord objects.
 */
export interface FlowBatch {
  count: number;
  nums: Float64Array;
  /** The text table. */
  texts: string[];
}

/** Positions of a flow's fixed values (from the flow's base position). */
export const enum F {
  UID = 0,
  IP_VERSION = 1,
  ORIG_H = 2,
  ORIG_P = 3,
  RESP_H = 4,
  RESP_P = 5,
  FIRST_TS = 6,
  LAST_TS = 7,
  /** The originator's DirectionStats (S offsets). */
  ORIG = 8,
  /** The responder's DirectionStats (S offsets). */
  RESP = 17,
  MISSED = 26,
  HISTORY = 27,
  CONN_STATE = 28,
  MIDSTREAM = 29,
  ORIG_STATE = 30,
  RESP_STATE = 31,
  ORIG_SINCE = 32,
  RESP_SINCE = 33,
  FIRST_FIN_BY = 34,
  FIRST_FIN_TS = 35,
  IDLE_BEFORE_FIN = 36,
  FIRST_FIN_ACKED = 37,
  PEER_FIN_SENT = 38,
  FIRST_RST_BY = 39,
  CLOSE_KIND = 40,
  FINISHED = 41,
  CAPTURED_ONLY = 42,
  ORIG_STATE_INFERRED = 43,
  RESP_STATE_INFERRED = 44,
  CLOSE_KIND_INFERRED = 45,
  VANTAGE = 46,
  RTT_TO_ORIG = 47,
  RTT_TO_RESP = 48,
  COMMUNITY_ID = 49,
  LOST_BYTES = 50,
}

/** Values before a flow's variable part. */
export const FIXED = 51;

/** Offsets of a DirectionStats' values (from F.ORIG or F.RESP). */
export const enum S {
  PACKETS = 0,
  BYTES = 1,
  IP_BYTES = 2,
  RETRANSMITS = 3,
  OUT_OF_ORDER = 4,
  KEEPALIVES = 5,
  ZERO_WINDOWS = 6,
  WINDOW_SCALE = 7,
  MSS = 8,
}

/** How a FlowRecord field is held: a number, a text (table index), a boolean (0/1); `?`: may be null (NaN). */
type Kind = 'num' | 'num?' | 'text' | 'text?' | 'bool';

/** FlowRecord's scalar fields and where they go (the FlowRecord side of the mapping; the TcpFlow side is encodeFlow). */
const RECORD_FIELDS: readonly (readonly [F, keyof FlowRecord, Kind])[] = [
  [F.UID, 'uid', 'num'],
  [F.IP_VERSION, 'ipVersion', 'num'],
  [F.ORIG_H, 'origH', 'text'],
  [F.ORIG_P, 'origP', 'num'],
  [F.RESP_H, 'respH', 'text'],
  [F.RESP_P, 'respP', 'num'],
  [F.FIRST_TS, 'firstTsUs', 'num'],
  [F.LAST_TS, 'lastTsUs', 'num'],
  [F.MISSED, 'missedBytes', 'num'],
  [F.HISTORY, 'history', 'text'],
  [F.CONN_STATE, 'connState', 'text'],
  [F.MIDSTREAM, 'midstream', 'bool'],
  [F.ORIG_STATE, 'origState', 'text'],
  [F.RESP_STATE, 'respState', 'text'],
  [F.ORIG_SINCE, 'origStateSinceUs', 'num'],
  [F.RESP_SINCE, 'respStateSinceUs', 'num'],
  [F.FIRST_FIN_BY, 'firstFinBy', 'text?'],
  [F.FIRST_FIN_TS, 'firstFinTsUs', 'num?'],
  [F.IDLE_BEFORE_FIN, 'idleBeforeFinUs', 'num?'],
  [F.FIRST_FIN_ACKED, 'firstFinAcked', 'bool'],
  [F.PEER_FIN_SENT, 'peerFinSent', 'bool'],
  [F.FIRST_RST_BY, 'firstRstBy', 'text?'],
  [F.CLOSE_KIND, 'closeKind', 'text'],
  [F.FINISHED, 'finished', 'bool'],
  [F.CAPTURED_ONLY, 'capturedOnly', 'text?'],
  [F.ORIG_STATE_INFERRED, 'origStateInferred', 'bool'],
  [F.RESP_STATE_INFERRED, 'respStateInferred', 'bool'],
  [F.CLOSE_KIND_INFERRED, 'closeKindInferred', 'bool'],
  [F.VANTAGE, 'vantage', 'text?'],
  [F.RTT_TO_ORIG, 'rttToOrigUs', 'num?'],
  [F.RTT_TO_RESP, 'rttToRespUs', 'num?'],
  [F.COMMUNITY_ID, 'communityId', 'text'],
  [F.LOST_BYTES, 'lostBytes', 'num'],
];

const STATS_FIELDS: readonly (readonly [S, keyof DirectionStats])[] = [
  [S.PACKETS, 'packets'],
  [S.BYTES, 'bytes'],
  [S.IP_BYTES, 'ipBytes'],
  [S.RETRANSMITS, 'retransmits'],
  [S.OUT_OF_ORDER, 'outOfOrder'],
  [S.KEEPALIVES, 'keepalives'],
  [S.ZERO_WINDOWS, 'zeroWindows'],
  [S.WINDOW_SCALE, 'windowScale'],
  [S.MSS, 'mss'],
];

/** A copy of the first `length` values of `nums` in an array at least twice as large with room for n more. */
export function grown(nums: Float64Array, length: number, n: number): Float64Array<ArrayBuffer> {
  let size = nums.length * 2;
  while (size < length + n) size *= 2;
  const bigger = new Float64Array(size);
  bigger.set(nums.subarray(0, length));
  return bigger;
}

/** Appends flows to a growing batch; take() hands the batch over and starts a new one. */
export class FlowBatchBuilder {
  /** The values (replaced when it grows: read it after reserve(), never keep it). */
  nums = new Float64Array(1 << 14);
  /** Values written so far. */
  length = 0;
  count = 0;
  private table: string[] = [];
  private index = new Map<string, number>();
  /** Table index by state code and by cause code (-1: not in the table yet). */
  private readonly stateIndex = new Int32Array(STATE_NAMES.length).fill(-1);
  private readonly causeIndex = new Int32Array(MAX_CAUSES).fill(-1);

  /** Room for n more values. */
  reserve(n: number): void {
    if (this.length + n > this.nums.length) this.nums = grown(this.nums, this.length, n);
  }

  /** Start a flow: reserves its fixed part (plus `extra` values) and returns its base position. */
  beginFlow(extra: number): number {
    this.reserve(FIXED + extra);
    const base = this.length;
    this.length += FIXED;
    this.count++;
    return base;
  }

  /** Append one value (after reserve). */
  push(v: number): void {
    this.nums[this.length++] = v;
  }

  /** Table index of a text; null → NaN. */
  text(s: string | null): number {
    if (s === null) return NaN;
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.table.length;
      this.table.push(s);
      this.index.set(s, i);
    }
    return i;
  }

  /** Table index for a text that seldom repeats (a flow's history): added without looking it up. */
  freshText(s: string): number {
    this.table.push(s);
    return this.table.length - 1;
  }

  /** Table index of a state name, by its code (an array lookup instead of hashing the text). */
  stateText(code: number): number {
    let i = this.stateIndex[code];
    if (i < 0) this.stateIndex[code] = i = this.text(STATE_NAMES[code]);
    return i;
  }

  /** Table index of a transition cause, by its code (transition-log.ts). */
  causeText(code: number): number {
    let i = this.causeIndex[code];
    if (i < 0) this.causeIndex[code] = i = this.text(causeName(code));
    return i;
  }

  /** The texts so far (index order). */
  get texts(): readonly string[] {
    return this.table;
  }

  /** The flows so far as a batch of their own (a copy sized to fit); the builder starts empty. */
  take(): FlowBatch {
    const out: FlowBatch = { count: this.count, nums: this.nums.slice(0, this.length), texts: this.table };
    this.clear();
    return out;
  }

  clear(): void {
    this.length = 0;
    this.count = 0;
    this.table = [];
    this.index = new Map();
    this.stateIndex.fill(-1);
    this.causeIndex.fill(-1);
  }
}

function endpointCode(e: Endpoint): number {
  return e === 'orig' ? 0 : 1;
}

function endpointOf(code: number): Endpoint {
  return code === 0 ? 'orig' : 'resp';
}

function putStats(a: Float64Array, at: number, s: DirectionStats): void {
  for (const [off, key] of STATS_FIELDS) a[at + off] = s[key];
}

function statsAt(a: Float64Array, at: number): DirectionStats {
  const s = {} as Record<keyof DirectionStats, number>;
  for (const [off, key] of STATS_FIELDS) s[key] = a[at + off];
  return s;
}

/** Append a flow's anomalies (the first part after its fixed values). */
export function pushAnomalies(b: FlowBatchBuilder, anomalies: Iterable<[string, number]> | null, count: number): void {
  b.reserve(1 + count * 2);
  b.push(count);
  if (anomalies === null) return;
  for (const [name, n] of anomalies) {
    b.push(b.text(name));
    b.push(n);
  }
}

/** Append one transition, its texts as table indices (after its count: reserve 5 values first). */
export function pushTransition(b: FlowBatchBuilder, tsUs: number, isOrig: boolean, from: number, to: number, cause: number): void {
  b.push(tsUs);
  b.push(isOrig ? 0 : 1);
  b.push(from);
  b.push(to);
  b.push(cause);
}

/** Append a flow's socket owners (its last part). */
export function pushOwners(b: FlowBatchBuilder, owners: readonly SocketOwner[] | undefined): void {
  const n = owners ? owners.length : 0;
  b.reserve(1 + n * 3);
  b.push(n);
  if (!owners) return;
  for (const o of owners) {
    b.push(endpointCode(o.endpoint));
    b.push(o.pid);
    b.push(b.text(o.command));
  }
}

/** Append a FlowRecord to a batch. */
export function encodeFlowRecord(b: FlowBatchBuilder, f: FlowRecord): void {
  const p = b.beginFlow(0);
  const a = b.nums;
  for (const [at, key, kind] of RECORD_FIELDS) {
    const v = f[key] as number | string | boolean | null;
    a[p + at] =
      kind === 'bool' ? (v ? 1 : 0) : kind === 'text' || kind === 'text?' ? b.text(v as string | null) : v === null ? NaN : (v as number);
  }
  putStats(a, p + F.ORIG, f.orig);
  putStats(a, p + F.RESP, f.resp);
  const an = f.anomalies ? Object.entries(f.anomalies) : null;
  pushAnomalies(b, an, an ? an.length : 0);
  b.reserve(1 + f.transitions.length * 5);
  b.push(f.transitions.length);
  for (const t of f.transitions) pushTransition(b, t.tsUs, t.endpoint === 'orig', b.text(t.from), b.text(t.to), b.text(t.cause));
  pushOwners(b, f.owners);
  pushHttpFacts(b, f.http);
}

/** Position of the socket-owner part (its count) of the flow at `p`: after its anomalies and transitions. */
export function ownersPosition(a: Float64Array, p: number): number {
  p += FIXED;
  p += 1 + a[p] * 2;
  return p + 1 + a[p] * 5;
}

/** Position of the flow after the one at `p`. */
export function nextFlow(a: Float64Array, p: number): number {
  p = ownersPosition(a, p);
  p += 1 + a[p] * 3;
  return skipHttpFacts(a, p);
}

/** The FlowRecord of the flow at position `p` (texts: the batch's table). */
export function decodeFlowRecord(a: Float64Array, p: number, texts: readonly string[]): FlowRecord {
  const rec = {} as Record<keyof FlowRecord, unknown>;
  for (const [at, key, kind] of RECORD_FIELDS) {
    const v = a[p + at];
    rec[key] = kind === 'bool' ? v === 1 : v !== v ? null : kind === 'text' || kind === 'text?' ? texts[v] : v;
  }
  rec.orig = statsAt(a, p + F.ORIG);
  rec.resp = statsAt(a, p + F.RESP);
  const transitions: Transition[] = [];
  rec.transitions = transitions;
  p += FIXED;
  const nAnomalies = a[p++];
  if (nAnomalies > 0) {
    const an: Record<string, number> = {};
    for (let i = 0; i < nAnomalies; i++, p += 2) an[texts[a[p]]] = a[p + 1];
    rec.anomalies = an;
  }
  const nTransitions = a[p++];
  for (let i = 0; i < nTransitions; i++, p += 5) {
    transitions.push({
      tsUs: a[p],
      endpoint: endpointOf(a[p + 1]),
      from: texts[a[p + 2]] as TcpState,
      to: texts[a[p + 3]] as TcpState,
      cause: texts[a[p + 4]],
    });
  }
  const nOwners = a[p++];
  if (nOwners > 0) {
    const owners: SocketOwner[] = [];
    for (let i = 0; i < nOwners; i++, p += 3) owners.push({ endpoint: endpointOf(a[p]), pid: a[p + 1], command: texts[a[p + 2]] });
    rec.owners = owners;
  }
  const http = readHttpFacts(a, p, texts);
  if (http !== null) rec.http = http;
  return rec as unknown as FlowRecord;
}

/** All FlowRecords of a batch. */
export function decodeFlowBatch(batch: FlowBatch): FlowRecord[] {
  const texts = batch.texts;
  const out: FlowRecord[] = [];
  let p = 0;
  for (let i = 0; i < batch.count; i++) {
    out.push(decodeFlowRecord(batch.nums, p, texts));
    p = nextFlow(batch.nums, p);
  }
  return out;
}

/** A batch of FlowRecords. */
export function encodeFlowRecords(flows: readonly FlowRecord[]): FlowBatch {
  const b = new FlowBatchBuilder();
  for (const f of flows) encodeFlowRecord(b, f);
  return b.take();
}
