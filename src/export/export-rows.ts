import type { Database } from 'better-sqlite3';
import { CAPTURES, FLOWS, TRANSITIONS } from './clickhouse-schema';

/** One row as sent to ClickHouse (JSONEachRow): the SQLite columns plus host (and ver). */
export type ExportRow = Record<string, unknown>;

/** The rows of one round of export, one list per table (one INSERT each). */
export interface ExportBatch {
  captures: ExportRow[];
  flows: ExportRow[];
  transitions: ExportRow[];
  /** Largest flows.id in `flows` (0 when empty). */
  maxId: number;
  /** Smallest id of a flow in `flows` that is not finished yet (null when all are). */
  minOpenId: number | null;
}

const FLOW_COLS = FLOWS.columns.map(([n]) => `f.${n}`).join(', ');

/**
 * A flow's version only grows while the flow lives: more packets, more
 * transitions, then finished. The same content always gives the same ver,
 * so a re-sent row is identical and the newest one wins after a merge.
 */
const FLOW_VER = `((f.orig_pkts + f.resp_pkts) * 1048576 + coalesce(json_array_length(ft.data), 0) * 2 + f.finished)`;

const FLOWS_FROM = `SELECT ${FLOW_COLS}, ${FLOW_VER} AS ver FROM flows f LEFT JOIN flow_transitions ft ON ft.flow_id = f.id`;

/** Prepared reads of the SQLite store, for one capture at a time. */
export class ExportReader {
  private readonly db: Database;
  private readonly byRange;
  private readonly byUids;
  private readonly transitions;
  private readonly capture;

  constructor(db: Database) {
    this.db = db;
    this.byRange = db.prepare(`${FLOWS_FROM} WHERE f.capture_id = ? AND f.id > ? ORDER BY f.id LIMIT ?`);
    this.byUids = db.prepare(`${FLOWS_FROM} WHERE f.capture_id = ? AND f.uid IN (SELECT value FROM json_each(?)) ORDER BY f.id`);
    this.transitions = db.prepare(
      `SELECT t.flow_id, f.capture_id, f.uid, t.seq, t.ts, t.endpoint, t.from_state, t.to_state, t.cause
       FROM transitions t JOIN flows f ON f.id = t.flow_id
       WHERE t.flow_id IN (SELECT value FROM json_each(?)) ORDER BY t.flow_id, t.seq`,
    );
    this.capture = db.prepare(`SELECT ${CAPTURES.columns.map(([n]) => n).join(', ')} FROM captures WHERE id = ?`);
  }

  /** The capture row (with ver: its progress only moves forward), or undefined. */
  captureRow(captureId: number, host: string): ExportRow | undefined {
    const c = this.capture.get(captureId) as ExportRow | undefined;
    if (c === undefined) return undefined;
    const lastUs = typeof c.last_ts === 'number' ? Math.round(c.last_ts * 1e6) : 0;
    return { host, ...c, ver: lastUs * 2 + (c.completed ? 1 : 0) };
  }

  /** Up to `limit` flows with id > afterId, oldest first, with their transitions, in one read transaction. */
  range(captureId: number, afterId: number, limit: number, host: string): ExportBatch {
    return this.db.transaction(() => this.batch(this.byRange.all(captureId, afterId, limit) as ExportRow[], captureId, host))();
  }

  /** The flows of the capture with these uids, as they are now, with their transitions. */
  uids(captureId: number, uids: readonly number[], host: string): ExportBatch {
    return this.db.transaction(() => this.batch(this.byUids.all(captureId, JSON.stringify(uids)) as ExportRow[], captureId, host))();
  }

  private batch(flows: ExportRow[], captureId: number, host: string): ExportBatch {
    let maxId = 0;
    let minOpenId: number | null = null;
    const ids: number[] = [];
    for (const f of flows) {
      const id = f.id as number;
      ids.push(id);
      if (id > maxId) maxId = id;
      if (!f.finished && (minOpenId === null || id < minOpenId)) minOpenId = id;
      f.host = host;
    }
    const transitions = ids.length === 0 ? [] : (this.transitions.all(JSON.stringify(ids)) as ExportRow[]);
    for (const t of transitions) t.host = host;
    const cap = this.captureRow(captureId, host);
    return { captures: cap ? [cap] : [], flows, transitions, maxId, minOpenId };
  }
}

/** Column lists in the order of the ClickHouse tables (for tests and docs). */
export const EXPORTED_COLUMNS = {
  captures: CAPTURES.columns.map(([n]) => n),
  flows: FLOWS.columns.map(([n]) => n),
  transitions: TRANSITIONS.columns.map(([n]) => n),
};
