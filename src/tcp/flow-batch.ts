import type { CloseKind, DirectionStats, Endpoint, FlowRecord, SocketOwner, TcpState } from './flow-record';

/**
 * Flow records packed as numbers: every value of a batch of flows in ONE
 * Float64Array (transferable to the database writer's thread without a copy)
 * and every text in ONE string table (a single string, cheap to clone; the
 * state names, close kinds, causes and the server's address repeat, so each
 * is stored once per batch). The fields are those of FlowRecord, with the
 * same units (integer µs).
 *
 * Per flow: FIXED values at the F_* positions (text: the table index; a
 * DirectionStats: STATS values at F_ORIG / F_RESP + S_*; NaN = null), then
 *   n, n × (name, count)                           anomalies,
 *   n, n × (tsUs, endpoint, from, to, cause)       transitions,
 *   n, n × (endpoint, pid, command)                socket owners,
 * endpoint 0 = orig, 1 = resp.
 *
 * The TCP engine writes batches straight from its flows (encodeFlow in
 * flow-record-builder.ts); encodeFlowRecord / decodeFlowRecord convert
 * between batches and FlowRecord objects.
 */
export interface FlowBatch {
  count: number;
  nums: Float64Array;
  /** The text table, joined with NUL (no stored text contains one). */
  texts: string;
}

export const F_UID = 0;
export const F_IP_VERSION = 1;
export const F_ORIG_H = 2;
export const F_ORIG_P = 3;
export const F_RESP_H = 4;
export const F_RESP_P = 5;
export const F_FIRST_TS = 6;
export const F_LAST_TS = 7;
export const F_ORIG = 8;
export const F_RESP = 17;
export const F_MISSED = 26;
export const F_HISTORY = 27;
export const F_CONN_STATE = 28;
export const F_MIDSTREAM = 29;
export const F_ORIG_STATE = 30;
export const F_RESP_STATE = 31;
export const F_ORIG_SINCE = 32;
export const F_RESP_SINCE = 33;
export const F_FIRST_FIN_BY = 34;
export const F_FIRST_FIN_TS = 35;
export const F_IDLE_BEFORE_FIN = 36;
export const F_FIRST_FIN_ACKED = 37;
export const F_PEER_FIN_SENT = 38;
export const F_FIRST_RST_BY = 39;
export const F_CLOSE_KIND = 40;
export const F_FINISHED = 41;
/** Values before a flow's variable part. */
export const FIXED = 42;

export const S_PACKETS = 0;
export const S_BYTES = 1;
export const S_IP_BYTES = 2;
export const S_RETRANSMITS = 3;
export const S_OUT_OF_ORDER = 4;
export const S_KEEPALIVES = 5;
export const S_ZERO_WINDOWS = 6;
export const S_WINDOW_SCALE = 7;
export const S_MSS = 8;

/** Appends flows to a growing batch; take() hands the batch over and starts a new one. */
export class FlowBatchBuilder {
  /** The values (replaced when it grows: read it after reserve(), never keep it). */
  nums = new Float64Array(1 << 14);
  /** Values written so far. */
  length = 0;
  count = 0;
  private table: string[] = [];
  private index = new Map<string, number>();

  /** Room for n more values. */
  reserve(n: number): void {
    if (this.length + n <= this.nums.length) return;
    let size = this.nums.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = new Float64Array(size);
    bigger.set(this.nums.subarray(0, this.length));
    this.nums = bigger;
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

  /** The texts so far (index order). */
  get texts(): readonly string[] {
    return this.table;
  }

  /** The flows so far as a batch of their own (a copy sized to fit); the builder starts empty. */
  take(): FlowBatch {
    const out: FlowBatch = { count: this.count, nums: this.nums.slice(0, this.length), texts: this.table.join('\0') };
    this.clear();
    return out;
  }

  clear(): void {
    this.length = 0;
    this.count = 0;
    this.table = [];
    this.index = new Map();
  }
}

function endpointCode(e: Endpoint): number {
  return e === 'orig' ? 0 : 1;
}

function endpointOf(code: number): Endpoint {
  return code === 0 ? 'orig' : 'resp';
}

function putStats(a: Float64Array, at: number, s: DirectionStats): void {
  a[at + S_PACKETS] = s.packets;
  a[at + S_BYTES] = s.bytes;
  a[at + S_IP_BYTES] = s.ipBytes;
  a[at + S_RETRANSMITS] = s.retransmits;
  a[at + S_OUT_OF_ORDER] = s.outOfOrder;
  a[at + S_KEEPALIVES] = s.keepalives;
  a[at + S_ZERO_WINDOWS] = s.zeroWindows;
  a[at + S_WINDOW_SCALE] = s.windowScale;
  a[at + S_MSS] = s.mss;
}

function statsAt(a: Float64Array, at: number): DirectionStats {
  return {
    packets: a[at + S_PACKETS],
    bytes: a[at + S_BYTES],
    ipBytes: a[at + S_IP_BYTES],
    retransmits: a[at + S_RETRANSMITS],
    outOfOrder: a[at + S_OUT_OF_ORDER],
    keepalives: a[at + S_KEEPALIVES],
    zeroWindows: a[at + S_ZERO_WINDOWS],
    windowScale: a[at + S_WINDOW_SCALE],
    mss: a[at + S_MSS],
  };
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

/** Append one transition (after its count: reserve 5 values first). */
export function pushTransition(b: FlowBatchBuilder, tsUs: number, isOrig: boolean, from: string, to: string, cause: string): void {
  b.push(tsUs);
  b.push(isOrig ? 0 : 1);
  b.push(b.text(from));
  b.push(b.text(to));
  b.push(b.text(cause));
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
  a[p + F_UID] = f.uid;
  a[p + F_IP_VERSION] = f.ipVersion;
  a[p + F_ORIG_H] = b.text(f.origH);
  a[p + F_ORIG_P] = f.origP;
  a[p + F_RESP_H] = b.text(f.respH);
  a[p + F_RESP_P] = f.respP;
  a[p + F_FIRST_TS] = f.firstTsUs;
  a[p + F_LAST_TS] = f.lastTsUs;
  putStats(a, p + F_ORIG, f.orig);
  putStats(a, p + F_RESP, f.resp);
  a[p + F_MISSED] = f.missedBytes;
  a[p + F_HISTORY] = b.text(f.history);
  a[p + F_CONN_STATE] = b.text(f.connState);
  a[p + F_MIDSTREAM] = f.midstream ? 1 : 0;
  a[p + F_ORIG_STATE] = b.text(f.origState);
  a[p + F_RESP_STATE] = b.text(f.respState);
  a[p + F_ORIG_SINCE] = f.origStateSinceUs;
  a[p + F_RESP_SINCE] = f.respStateSinceUs;
  a[p + F_FIRST_FIN_BY] = b.text(f.firstFinBy);
  a[p + F_FIRST_FIN_TS] = f.firstFinTsUs ?? NaN;
  a[p + F_IDLE_BEFORE_FIN] = f.idleBeforeFinUs ?? NaN;
  a[p + F_FIRST_FIN_ACKED] = f.firstFinAcked ? 1 : 0;
  a[p + F_PEER_FIN_SENT] = f.peerFinSent ? 1 : 0;
  a[p + F_FIRST_RST_BY] = b.text(f.firstRstBy);
  a[p + F_CLOSE_KIND] = b.text(f.closeKind);
  a[p + F_FINISHED] = f.finished ? 1 : 0;
  const an = f.anomalies ? Object.entries(f.anomalies) : null;
  pushAnomalies(b, an, an ? an.length : 0);
  b.reserve(1 + f.transitions.length * 5);
  b.push(f.transitions.length);
  for (const t of f.transitions) pushTransition(b, t.tsUs, t.endpoint === 'orig', t.from, t.to, t.cause);
  pushOwners(b, f.owners);
}

/** Position of the flow after the one at `p`. */
export function nextFlow(a: Float64Array, p: number): number {
  p += FIXED;
  p += 1 + a[p] * 2;
  p += 1 + a[p] * 5;
  p += 1 + a[p] * 3;
  return p;
}

function textOrNull(texts: readonly string[], v: number): string | null {
  return v !== v ? null : texts[v];
}

/** The FlowRecord of the flow at position `p` (texts: the batch's table). */
export function decodeFlowRecord(a: Float64Array, p: number, texts: readonly string[]): FlowRecord {
  const rec: FlowRecord = {
    uid: a[p + F_UID],
    ipVersion: a[p + F_IP_VERSION] === 6 ? 6 : 4,
    origH: texts[a[p + F_ORIG_H]],
    origP: a[p + F_ORIG_P],
    respH: texts[a[p + F_RESP_H]],
    respP: a[p + F_RESP_P],
    firstTsUs: a[p + F_FIRST_TS],
    lastTsUs: a[p + F_LAST_TS],
    orig: statsAt(a, p + F_ORIG),
    resp: statsAt(a, p + F_RESP),
    missedBytes: a[p + F_MISSED],
    history: texts[a[p + F_HISTORY]],
    connState: texts[a[p + F_CONN_STATE]],
    midstream: a[p + F_MIDSTREAM] === 1,
    origState: texts[a[p + F_ORIG_STATE]] as TcpState,
    respState: texts[a[p + F_RESP_STATE]] as TcpState,
    origStateSinceUs: a[p + F_ORIG_SINCE],
    respStateSinceUs: a[p + F_RESP_SINCE],
    firstFinBy: textOrNull(texts, a[p + F_FIRST_FIN_BY]) as Endpoint | null,
    firstFinTsUs: a[p + F_FIRST_FIN_TS] !== a[p + F_FIRST_FIN_TS] ? null : a[p + F_FIRST_FIN_TS],
    idleBeforeFinUs: a[p + F_IDLE_BEFORE_FIN] !== a[p + F_IDLE_BEFORE_FIN] ? null : a[p + F_IDLE_BEFORE_FIN],
    firstFinAcked: a[p + F_FIRST_FIN_ACKED] === 1,
    peerFinSent: a[p + F_PEER_FIN_SENT] === 1,
    firstRstBy: textOrNull(texts, a[p + F_FIRST_RST_BY]) as Endpoint | null,
    closeKind: texts[a[p + F_CLOSE_KIND]] as CloseKind,
    finished: a[p + F_FINISHED] === 1,
    transitions: [],
  };
  p += FIXED;
  const nAnomalies = a[p++];
  if (nAnomalies > 0) {
    const an: Record<string, number> = {};
    for (let i = 0; i < nAnomalies; i++, p += 2) an[texts[a[p]]] = a[p + 1];
    rec.anomalies = an;
  }
  const nTransitions = a[p++];
  for (let i = 0; i < nTransitions; i++, p += 5) {
    rec.transitions.push({
      tsUs: a[p],
      endpoint: endpointOf(a[p + 1]),
      from: texts[a[p + 2]] as TcpState,
      to: texts[a[p + 3]] as TcpState,
      cause: texts[a[p + 4]],
    });
  }
  const nOwners = a[p++];
  if (nOwners > 0) {
    rec.owners = [];
    for (let i = 0; i < nOwners; i++, p += 3) rec.owners.push({ endpoint: endpointOf(a[p]), pid: a[p + 1], command: texts[a[p + 2]] });
  }
  return rec;
}

/** All FlowRecords of a batch. */
export function decodeFlowBatch(batch: FlowBatch): FlowRecord[] {
  const texts = batch.texts.split('\0');
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
