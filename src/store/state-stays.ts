import type { Database } from 'better-sqlite3';
import type { TcpState } from '../tcp/flow-record';
import { STATE_NAMES } from '../tcp/tcp-state-codes';

/**
 * Every endpoint's stays in its states, decoded from the stored transitions
 * (flow_transitions, schema.ts version 2): one stay per transition, from the
 * instant the endpoint entered `to_state` until its next transition, or
 * until capture end when there is none. The SQL view `state_stays`
 * (schema.ts version 3) is the same definition; this reader decodes the JSON
 * timelines in JavaScript, several times faster than SQLite's json_each, so
 * the timeline and the report's CLOSE_WAIT durations of a 50k-flow capture
 * stay well under a second. Columns, not objects: one entry per stay in
 * typed arrays.
 */

/** RFC 9293 states in the order the timeline lists them (the endpoint's life): the engine's states but UNCOUNTED_STATES. */
export const TIMELINE_STATES: readonly TcpState[] = STATE_NAMES.filter((s) => s !== 'UNKNOWN' && s !== 'CLOSED');

/**
 * Not counted in a timeline: UNKNOWN (nothing seen from the endpoint yet) and
 * CLOSED (no socket left; counting them would only add up every endpoint that
 * ever existed).
 */
export const UNCOUNTED_STATES = ['UNKNOWN', 'CLOSED'] as const;

export interface StaysQuery {
  captureId: number;
  /** Only flows with this address on either side. */
  host?: string;
  /** Only flows with this port on either side. */
  port?: number;
  /** Only flows with one of these addresses on either side. */
  hosts?: readonly string[];
  /** Only stays in these states (TIMELINE_STATES names); default every state but UNKNOWN and CLOSED. */
  states?: readonly string[];
}

/** The flows the stays belong to (one entry per flow read). */
export interface StayFlows {
  id: Int32Array;
  origH: string[];
  origP: Int32Array;
  respH: string[];
  respP: Int32Array;
}

export interface StateStays {
  captureId: number;
  /** Capture start and end, epoch microseconds (end: the capture_end view; a live capture's last flush). */
  startUs: number;
  endUs: number;
  /** Flows of the whole capture (before filters): sets the timeline's default resolution. */
  captureFlows: number;
  n: number;
  /** Index into TIMELINE_STATES. */
  state: Uint8Array;
  /** 0 = orig, 1 = resp. */
  endpoint: Uint8Array;
  /** Index into `flows`. */
  flow: Int32Array;
  /** Entered the state (epoch µs). */
  fromUs: Float64Array;
  /** Left it (epoch µs); NaN = still in it at capture end (or later than the capture's end so far). */
  toUs: Float64Array;
  flows: StayFlows;
}

/** A capture that is not in the database. */
export class UnknownCaptureError extends Error {
  constructor(readonly captureId: number) {
    super(`no capture ${captureId} in the database`);
    this.name = 'UnknownCaptureError';
  }
}

/** Capture start/end (epoch s) and its flow count; undefined for an unknown capture. */
export function captureSpan(db: Database, captureId: number): { startS: number | null; endS: number | null; flows: number } | undefined {
  return db
    .prepare(
      `SELECT COALESCE(c.first_ts, (SELECT min(f.first_ts) FROM flows f WHERE f.capture_id = c.id)) AS startS,
              e.end_ts AS endS,
              (SELECT count(*) FROM flows f WHERE f.capture_id = c.id) AS flows
       FROM captures c JOIN capture_end e ON e.capture_id = c.id WHERE c.id = ?`,
    )
    .get(captureId) as { startS: number | null; endS: number | null; flows: number } | undefined;
}

class Grow {
  state = new Uint8Array(1024);
  endpoint = new Uint8Array(1024);
  flow = new Int32Array(1024);
  fromUs = new Float64Array(1024);
  toUs = new Float64Array(1024);
  n = 0;
  push(state: number, endpoint: number, flow: number, fromUs: number): number {
    if (this.n === this.state.length) this.grow(this.n * 2);
    const i = this.n++;
    this.state[i] = state;
    this.endpoint[i] = endpoint;
    this.flow[i] = flow;
    this.fromUs[i] = fromUs;
    this.toUs[i] = NaN;
    return i;
  }
  private grow(size: number): void {
    const s = new Uint8Array(size);
    s.set(this.state);
    this.state = s;
    const e = new Uint8Array(size);
    e.set(this.endpoint);
    this.endpoint = e;
    const f = new Int32Array(size);
    f.set(this.flow);
    this.flow = f;
    const a = new Float64Array(size);
    a.set(this.fromUs);
    this.fromUs = a;
    const b = new Float64Array(size);
    b.set(this.toUs);
    this.toUs = b;
  }
}

class GrowFlows {
  id: number[] = [];
  origH: string[] = [];
  origP: number[] = [];
  respH: string[] = [];
  respP: number[] = [];
}

/** Read the stays of one capture's endpoints. Throws UnknownCaptureError for a capture id not in the database. */
export function readStateStays(db: Database, q: StaysQuery): StateStays {
  const span = captureSpan(db, q.captureId);
  if (span === undefined) throw new UnknownCaptureError(q.captureId);
  const startUs = span.startS === null ? NaN : Math.round(span.startS * 1e6);
  const endUs = span.endS === null ? NaN : Math.round(span.endS * 1e6);
  // transition_words id -> TIMELINE_STATES index (-1: a word that is no counted state).
  const wanted = new Set<string>(q.states ?? TIMELINE_STATES);
  const code = new Int16Array(1 + (db.prepare('SELECT COALESCE(max(id), 0) AS m FROM transition_words').get() as { m: number }).m).fill(-1);
  for (const { id, word } of db.prepare('SELECT id, word FROM transition_words').all() as { id: number; word: string }[]) {
    const i = (TIMELINE_STATES as readonly string[]).indexOf(word);
    if (i >= 0 && wanted.has(word)) code[id] = i;
  }
  const where = ['f.capture_id = ?'];
  const params: (string | number)[] = [q.captureId];
  if (q.host !== undefined) {
    where.push('(f.orig_h = ? OR f.resp_h = ?)');
    params.push(q.host, q.host);
  }
  if (q.hosts !== undefined) {
    where.push('(f.orig_h IN (SELECT value FROM json_each(?)) OR f.resp_h IN (SELECT value FROM json_each(?)))');
    params.push(JSON.stringify(q.hosts), JSON.stringify(q.hosts));
  }
  // Only TIME_WAIT: the flows flagged at write time as having one (indexed).
  if (q.states !== undefined && q.states.length === 1 && q.states[0] === 'TIME_WAIT') where.push('ft.time_wait = 1');
  if (q.port !== undefined) {
    where.push('(f.orig_p = ? OR f.resp_p = ?)');
    params.push(q.port, q.port);
  }
  const rows = db
    .prepare(
      `SELECT f.id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, ft.base_us, ft.data
       FROM flows f JOIN flow_transitions ft ON ft.flow_id = f.id WHERE ${where.join(' AND ')}`,
    )
    .raw()
    .all(...params) as [number, string, number, string, number, number, string][];
  const out = new Grow();
  const flows = new GrowFlows();
  const hasEnd = endUs === endUs;
  for (const [id, oh, op, rh, rp, base, data] of rows) {
    const fi = flows.id.length;
    flows.id.push(id);
    flows.origH.push(oh);
    flows.origP.push(op);
    flows.respH.push(rh);
    flows.respP.push(rp);
    // The open stay of each endpoint (index into out, -1 = none).
    let openO = -1;
    let openR = -1;
    // data = [[dt_us,endpoint,from,to,cause],...], integers only: scanned in
    // place (no array per transition, several times faster than JSON.parse).
    let field = 0;
    let num = 0;
    let neg = false;
    let dt = 0;
    let ep = 0;
    let to = 0;
    for (let c = 1; c < data.length; c++) {
      const ch = data.charCodeAt(c);
      if (ch >= 48 && ch <= 57) num = num * 10 + (ch - 48);
      else if (ch === 45) neg = true;
      else if (ch === 44 || ch === 93) {
        if (field === 0) dt = neg ? -num : num;
        else if (field === 1) ep = num;
        else if (field === 3) to = num;
        num = 0;
        neg = false;
        field++;
        if (ch !== 93 || field !== 5) continue;
        // One transition read.
        field = 0;
        const t = base + dt;
        // Live: a transition later than the capture's end so far is not counted yet.
        if (hasEnd && t > endUs) continue;
        const open = ep === 0 ? openO : openR;
        if (open >= 0) out.toUs[open] = t;
        const st = to < code.length ? code[to] : -1;
        const next = st >= 0 ? out.push(st, ep, fi, t) : -1;
        if (ep === 0) openO = next;
        else openR = next;
      } else if (ch === 91) field = 0;
    }
  }
  return {
    captureId: q.captureId,
    startUs,
    endUs,
    captureFlows: span.flows,
    n: out.n,
    state: out.state.subarray(0, out.n),
    endpoint: out.endpoint.subarray(0, out.n),
    flow: out.flow.subarray(0, out.n),
    fromUs: out.fromUs.subarray(0, out.n),
    toUs: out.toUs.subarray(0, out.n),
    flows: {
      id: Int32Array.from(flows.id),
      origH: flows.origH,
      origP: Int32Array.from(flows.origP),
      respH: flows.respH,
      respP: Int32Array.from(flows.respP),
    },
  };
}
