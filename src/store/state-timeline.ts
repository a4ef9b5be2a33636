import type { Database } from 'better-sqlite3';
import { readStateStays, TIMELINE_STATES, type StateStays } from './state-stays';

/**
 * The number of endpoints in each RFC 9293 state over a capture, overall,
 * per service (the flow's responder address:port) or per host (the
 * endpoint's own address), computed at read time from the stored
 * transitions (state-stays.ts). Nothing is materialised at ingest, so it
 * costs ingest nothing and is always as current as the transitions: on a
 * live database it counts up to captures.last_ts, the newest flush.
 *
 * TIME_WAIT ends at its stored `2MSL expired` transition (or lasts to
 * capture end); UNKNOWN and CLOSED are not counted (no socket).
 *
 * Resolution (defaultBucketUs): exact change points when the capture holds
 * at most EXACT_MAX_FLOWS flows, otherwise buckets of a round
 * width giving at most MAX_BUCKETS per series, each with the count at its
 * end and the min and max within it. The SQL view state_timeline (schema.ts
 * version 3) applies the same rule.
 */

export type TimelineGroupKind = 'all' | 'service' | 'host';

export interface StateTimelineQuery {
  captureId: number;
  /** RFC 9293 names as stored (CLOSE_WAIT, TIME_WAIT, ...); default: every state seen. */
  states?: readonly string[];
  /** Only endpoints of flows touching this address. */
  host?: string;
  /** Only flows touching this port. */
  port?: number;
  /** Default 'all'. */
  group?: TimelineGroupKind;
  /** Bucket width in seconds; 0 = exact change points; default adapts to the capture's length. */
  everyS?: number;
  /** service/host: keep the groups with the highest peaks, at most this many (default MAX_GROUPS). */
  maxGroups?: number;
}

export interface TimelinePoint {
  /** Epoch seconds: bucket start, or the exact change instant when bucketS is null. */
  t: number;
  /** Endpoints in the state at the end of the bucket (or just after the change). */
  count: number;
  /** Min within the bucket (== count for exact change points). */
  min: number;
  /** Max within the bucket. */
  max: number;
}

export interface StateSeries {
  /** 'all', a service "h:p" / "[h6]:p" (the server side), or a host address. */
  group: string;
  state: string;
  /** Ordered by t; the first point is at the capture start. */
  points: TimelinePoint[];
}

export interface StateTimeline {
  captureId: number;
  /** Capture start (epoch s). */
  startTs: number;
  /** Capture end (capture_end view). */
  endTs: number;
  /** null = exact change points. */
  bucketS: number | null;
  series: StateSeries[];
  /** Group kind of the series. */
  group: TimelineGroupKind;
  /** service/host groups left out by maxGroups (those with the lowest peaks). */
  groupsOmitted: number;
}

/** Captures with at most this many flows get exact change points by default. */
export const EXACT_MAX_FLOWS = 500;
/** Otherwise at most this many buckets per series. */
export const MAX_BUCKETS = 400;
/** Default cap on service/host groups. */
export const MAX_GROUPS = 50;
/** Refused: a bucket width that would give more buckets than this per series. */
export const MAX_DENSE_BUCKETS = 100_000;

/** Round bucket widths (µs), smallest first; past a day, whole days. */
export const BUCKET_STEPS_US = [
  1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1.5e7, 3e7, 6e7, 1.2e8, 3e8, 6e8, 9e8, 1.8e9, 3.6e9, 7.2e9, 1.08e10,
  2.16e10, 4.32e10, 8.64e10,
];

/** The default resolution of a capture: null (exact) or the bucket width in µs. */
export function defaultBucketUs(durationUs: number, flows: number): number | null {
  if (flows <= EXACT_MAX_FLOWS) return null;
  const want = durationUs / MAX_BUCKETS;
  for (const s of BUCKET_STEPS_US) if (s >= want) return s;
  return Math.ceil(want / 8.64e10) * 8.64e10;
}

/** A service endpoint as the report writes it: h:p, [h6]:p. */
export function serviceName(h: string, p: number): string {
  return h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`;
}

const NS = TIMELINE_STATES.length;

/** Read one capture's state timeline. Throws UnknownCaptureError (state-stays.ts) for an unknown capture id. */
export function readStateTimeline(db: Database, q: StateTimelineQuery): StateTimeline {
  const states = q.states === undefined ? undefined : [...new Set(q.states)];
  for (const s of states ?? []) {
    if (!(TIMELINE_STATES as readonly string[]).includes(s)) throw new RangeError(`${s} is not a counted state; one of: ${TIMELINE_STATES.join(', ')}`);
  }
  const stays = readStateStays(db, { captureId: q.captureId, host: q.host, port: q.port, states });
  return buildTimeline(stays, { ...q, states });
}

/** The timeline of stays already read (the sweep; no I/O). */
export function buildTimeline(stays: StateStays, q: StateTimelineQuery): StateTimeline {
  const kind = q.group ?? 'all';
  const { startUs, endUs } = stays;
  const result: StateTimeline = {
    captureId: stays.captureId,
    startTs: startUs / 1e6,
    endTs: endUs / 1e6,
    bucketS: null,
    series: [],
    group: kind,
    groupsOmitted: 0,
  };
  if (startUs !== startUs || endUs !== endUs) return result;
  const bucketUs = resolution(q.everyS, endUs - startUs, stays.captureFlows);
  result.bucketS = bucketUs === null ? null : bucketUs / 1e6;

  // Group of each stay.
  const groupNames: string[] = [];
  const groupOf = new Int32Array(stays.n);
  if (kind === 'all') groupNames.push('all');
  else {
    const ids = new Map<string, number>();
    const f = stays.flows;
    for (let i = 0; i < stays.n; i++) {
      const fi = stays.flow[i];
      const name = kind === 'service' ? serviceName(f.respH[fi], f.respP[fi]) : stays.endpoint[i] === 0 ? f.origH[fi] : f.respH[fi];
      let g = ids.get(name);
      if (g === undefined) {
        g = groupNames.length;
        groupNames.push(name);
        ids.set(name, g);
      }
      groupOf[i] = g;
    }
  }
  const ev = stayEvents(stays, groupOf);
  const nSeries = groupNames.length * NS;

  // Pass 1: each series' peak, to pick the groups shown.
  const peak = new Int32Array(nSeries);
  sweep(ev, nSeries, (s, _before, after) => {
    if (after > peak[s]) peak[s] = after;
  });
  const wanted = q.states === undefined ? null : new Set(q.states);
  let groups = groupNames.map((name, g) => {
    let p = 0;
    for (let st = 0; st < NS; st++) p = Math.max(p, peak[g * NS + st]);
    return { name, g, peak: p };
  });
  if (kind !== 'all') {
    groups.sort((a, b) => b.peak - a.peak || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const max = q.maxGroups ?? MAX_GROUPS;
    result.groupsOmitted = Math.max(0, groups.length - max);
    groups = groups.slice(0, max);
  }
  // Series shown: every state ever counted (a state entered and left at the
  // same instant, as a CLOSE_WAIT answered by a FIN in the same packet, never
  // is), and in group 'all' the states asked for even if never entered.
  const shown: { name: string; state: string; s: number }[] = [];
  const keep = new Uint8Array(nSeries);
  for (const { name, g } of groups) {
    for (let st = 0; st < NS; st++) {
      const s = g * NS + st;
      const state = TIMELINE_STATES[st];
      if (peak[s] === 0 && !(kind === 'all' && wanted !== null && wanted.has(state))) continue;
      keep[s] = 1;
      shown.push({ name, state, s });
    }
  }

  // Pass 2: the points of the series shown.
  const startS = startUs / 1e6;
  if (bucketUs === null) {
    const exact: TimelinePoint[][] = [];
    for (const { s } of shown) exact[s] = [{ t: startS, count: 0, min: 0, max: 0 }];
    sweep(ev, nSeries, (s, _before, c, tRun) => {
      if (keep[s] === 0) return;
      const pts = exact[s];
      const last = pts[pts.length - 1];
      const t = Math.max(tRun, startUs) / 1e6;
      if (last.t === t) last.count = last.min = last.max = c;
      else if (last.count !== c) pts.push({ t, count: c, min: c, max: c });
    });
    for (const { name, state, s } of shown) result.series.push({ group: name, state, points: exact[s] });
    return result;
  }
  const nb = Math.max(1, Math.ceil((endUs - startUs) / bucketUs));
  const last: Int32Array[] = [];
  const min: Int32Array[] = [];
  const max: Int32Array[] = [];
  const filled = new Int32Array(nSeries).fill(-1);
  const level = new Int32Array(nSeries);
  // Buckets filled[s]+1 .. upTo hold `lvl` throughout.
  const fill = (s: number, upTo: number, lvl: number): void => {
    const l = last[s];
    const mn = min[s];
    const mx = max[s];
    for (let b = filled[s] + 1; b <= upTo; b++) {
      l[b] = lvl;
      mn[b] = lvl;
      mx[b] = lvl;
    }
    if (upTo > filled[s]) filled[s] = upTo;
  };
  for (const { s } of shown) {
    last[s] = new Int32Array(nb);
    min[s] = new Int32Array(nb);
    max[s] = new Int32Array(nb);
  }
  sweep(ev, nSeries, (s, before, c, tRun) => {
    if (keep[s] === 0) return;
    const b = Math.min(nb - 1, Math.max(0, Math.floor((tRun - startUs) / bucketUs)));
    if (filled[s] < b) fill(s, b, before);
    last[s][b] = c;
    if (c < min[s][b]) min[s][b] = c;
    if (c > max[s][b]) max[s][b] = c;
    level[s] = c;
  });
  for (const { name, state, s } of shown) {
    fill(s, nb - 1, level[s]);
    const points = new Array<TimelinePoint>(nb);
    for (let b = 0; b < nb; b++) points[b] = { t: (startUs + b * bucketUs) / 1e6, count: last[s][b], min: min[s][b], max: max[s][b] };
    result.series.push({ group: name, state, points });
  }
  return result;
}

/** Bucket width in µs (null = exact change points): the one asked for, or the capture's default. */
function resolution(everyS: number | undefined, durationUs: number, flows: number): number | null {
  if (everyS === undefined) return defaultBucketUs(durationUs, flows);
  if (everyS === 0) return null;
  if (!(everyS > 0) || !Number.isFinite(everyS)) throw new RangeError(`bucket width must be a number of seconds > 0 (or 0 for exact change points), not ${everyS}`);
  const bucketUs = Math.max(1, Math.round(everyS * 1e6));
  const nb = Math.ceil((durationUs + 1) / bucketUs);
  if (nb > MAX_DENSE_BUCKETS) throw new RangeError(`a bucket of ${everyS} s gives ${nb} buckets over this capture; at most ${MAX_DENSE_BUCKETS} (use a wider one)`);
  return bucketUs;
}

/** +1 entering a state, -1 leaving it (within the capture), in time order. */
interface Events {
  n: number;
  /** Event indices in time order. */
  order: Int32Array;
  /** Time unit of each sorted position (events of one unit are one instant). */
  unit: Float64Array;
  t: Float64Array;
  series: Int32Array;
  delta: Int8Array;
}

function stayEvents(stays: StateStays, groupOf: Int32Array): Events {
  let n = 0;
  for (let i = 0; i < stays.n; i++) n += stays.toUs[i] === stays.toUs[i] ? 2 : 1;
  const t = new Float64Array(n);
  const series = new Int32Array(n);
  const delta = new Int8Array(n);
  let t0 = stays.startUs;
  let t1 = stays.endUs;
  for (let i = 0, e = 0; i < stays.n; i++) {
    const s = groupOf[i] * NS + stays.state[i];
    const from = stays.fromUs[i];
    t[e] = from;
    series[e] = s;
    delta[e++] = 1;
    if (from < t0) t0 = from;
    const to = stays.toUs[i];
    if (to === to) {
      t[e] = to;
      series[e] = s;
      delta[e++] = -1;
      if (to > t1) t1 = to;
    }
  }
  // Sorted without a comparator: key = time unit shifted past the event's
  // index, one native sort of a Float64Array; events of one unit keep their
  // stored order (a flow's own transitions are stored in order). The unit is
  // 1 µs unless span x events exceeds 2^53 (hours of capture with millions
  // of events); then a few µs, and events that close count as one instant.
  const idxSpan = 2 ** Math.max(1, Math.ceil(Math.log2(n + 1)));
  const unitUs = Math.max(1, Math.ceil((t1 - t0 + 1) / (Math.floor(2 ** 53 / idxSpan) - 1)));
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = Math.floor((t[i] - t0) / unitUs) * idxSpan + i;
  keys.sort();
  const order = new Int32Array(n);
  const unit = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const u = Math.floor(keys[k] / idxSpan);
    unit[k] = u;
    order[k] = keys[k] - u * idxSpan;
  }
  return { n, order, unit, t, series, delta };
}

/**
 * Replay the events instant by instant; after each instant, `visit` gets
 * every series it changed with its count before and after, and the instant.
 */
function sweep(ev: Events, nSeries: number, visit: (s: number, before: number, after: number, tUs: number) => void): void {
  const counts = new Int32Array(nSeries);
  const before = new Int32Array(nSeries);
  const mark = new Uint8Array(nSeries);
  const touched = new Int32Array(Math.min(ev.n, nSeries) + 1);
  const { order, unit, t, series, delta, n } = ev;
  let k = 0;
  while (k < n) {
    const u = unit[k];
    let nt = 0;
    let tRun = 0;
    while (k < n && unit[k] === u) {
      const e = order[k++];
      const s = series[e];
      if (mark[s] === 0) {
        mark[s] = 1;
        before[s] = counts[s];
        touched[nt++] = s;
      }
      counts[s] += delta[e];
      tRun = t[e];
    }
    for (let i = 0; i < nt; i++) {
      const s = touched[i];
      mark[s] = 0;
      visit(s, before[s], counts[s], tRun);
    }
  }
}
