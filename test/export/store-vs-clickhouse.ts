/** Read the same rows from a SQLite store and from ClickHouse, in one comparable form. */
import Database from 'better-sqlite3';
import { FLOWS, TRANSITIONS, type TableSpec } from '../../src/export/clickhouse-schema';
import type { ClickHouseServer } from '../helpers/clickhouse-server';
import { readStateTimeline } from '../../src/store/state-timeline';

type Row = Record<string, unknown>;

/**
 * ClickHouse's JSON quotes 64-bit integers; SQLite gives numbers. Times and
 * durations are compared to the microsecond (what a capture resolves):
 * 18.16 parses decimal text into a double up to one unit in the last place
 * off (toFloat64('3.551105') is 3.5511049999999997 there).
 */
function normalize(t: TableSpec, r: Row): Row {
  const out: Row = {};
  for (const [name, type] of t.columns) {
    const v = r[name];
    out[name] = v === null || v === undefined ? null : /Int/.test(type) ? Number(v) : /Float/.test(type) ? Math.round((v as number) * 1e6) : v;
  }
  return out;
}

export function sqliteFlows(dbPath: string): Row[] {
  const d = new Database(dbPath, { readonly: true });
  try {
    const rows = d.prepare(`SELECT ${FLOWS.columns.map(([n]) => n).join(', ')} FROM flows ORDER BY capture_id, uid`).all() as Row[];
    return rows.map((r) => normalize(FLOWS, r));
  } finally {
    d.close();
  }
}

export function sqliteTransitions(dbPath: string): Row[] {
  const d = new Database(dbPath, { readonly: true });
  try {
    const rows = d
      .prepare(`SELECT t.flow_id, f.capture_id, f.uid, t.seq, t.ts, t.endpoint, t.from_state, t.to_state, t.cause FROM transitions t JOIN flows f ON f.id = t.flow_id ORDER BY f.capture_id, f.uid, t.seq`)
      .all() as Row[];
    return rows.map((r) => normalize(TRANSITIONS, r));
  } finally {
    d.close();
  }
}

export async function clickhouseFlows(ch: ClickHouseServer, db: string, host: string): Promise<Row[]> {
  const rows = await ch.rows(`SELECT ${FLOWS.columns.map(([n]) => n).join(', ')} FROM ${db}.flows FINAL WHERE host = '${host}' ORDER BY capture_id, uid`);
  return rows.map((r) => normalize(FLOWS, r));
}

export async function clickhouseTransitions(ch: ClickHouseServer, db: string, host: string): Promise<Row[]> {
  const rows = await ch.rows(`SELECT ${TRANSITIONS.columns.map(([n]) => n).join(', ')} FROM ${db}.transitions FINAL WHERE host = '${host}' ORDER BY capture_id, uid, seq`);
  return rows.map((r) => normalize(TRANSITIONS, r));
}

/** Rows per key after merging every part (OPTIMIZE … FINAL): more than one means a duplicate survived. */
export async function duplicateKeys(ch: ClickHouseServer, db: string): Promise<number> {
  await ch.sql(`OPTIMIZE TABLE ${db}.flows FINAL`);
  await ch.sql(`OPTIMIZE TABLE ${db}.transitions FINAL`);
  const f = await ch.rows<{ n: string }>(`SELECT count() AS n FROM (SELECT host, capture_id, uid, count() AS c FROM ${db}.flows GROUP BY host, capture_id, uid HAVING c > 1)`);
  const t = await ch.rows<{ n: string }>(`SELECT count() AS n FROM (SELECT host, capture_id, uid, seq, count() AS c FROM ${db}.transitions GROUP BY host, capture_id, uid, seq HAVING c > 1)`);
  return Number(f[0].n) + Number(t[0].n);
}

function timelineNorm(rows: Row[]): Row[] {
  return rows
    .map((r) => ({
      capture_id: Number(r.capture_id), ts: Math.round((r.ts as number) * 1e6), bucket_s: r.bucket_s === null ? null : Number(r.bucket_s),
      group_kind: r.group_kind, grp: r.grp, state: r.state, count: Number(r.count), min: Number(r.min), max: Number(r.max),
    }))
    .sort((x, y) => x.capture_id - y.capture_id || `${x.group_kind} ${x.grp} ${x.state}`.localeCompare(`${y.group_kind} ${y.grp} ${y.state}`) || x.ts - y.ts);
}

/** Every point the store's reader gives for each capture, for every group kind (what state_timeline should hold). */
export function sqliteTimeline(dbPath: string): Row[] {
  const d = new Database(dbPath, { readonly: true });
  try {
    const out: Row[] = [];
    for (const { id } of d.prepare('SELECT id FROM captures ORDER BY id').all() as { id: number }[]) {
      for (const kind of ['all', 'service', 'host'] as const) {
        const tl = readStateTimeline(d, { captureId: id, group: kind, maxGroups: 1000 });
        for (const s of tl.series) for (const p of s.points) out.push({ capture_id: id, ts: p.t, bucket_s: tl.bucketS, group_kind: kind, grp: s.group, state: s.state, count: p.count, min: p.min, max: p.max });
      }
    }
    return timelineNorm(out);
  } finally {
    d.close();
  }
}

export async function clickhouseTimeline(ch: ClickHouseServer, db: string, host: string): Promise<Row[]> {
  return timelineNorm(await ch.rows(`SELECT capture_id, ts, bucket_s, group_kind, grp, state, count, min, max FROM ${db}.state_timeline FINAL WHERE host = '${host}'`));
}
