import type { Database } from 'better-sqlite3';

/** Where one capture stands with one sink and host label (table export_cursors, migration 7). */
export interface ExportCursor {
  sink: string;
  host: string;
  captureId: number;
  /** Every flow with id <= doneId was sent finished: never needs sending again. */
  doneId: number;
  /** The capture's last_ts as of the last export that left nothing unsent (null: never). */
  syncedTs: number | null;
  rowsSent: number;
  complete: boolean;
  lastError: string | null;
}

interface CursorRow {
  sink: string;
  host: string;
  capture_id: number;
  done_id: number;
  synced_ts: number | null;
  rows_sent: number;
  complete: number;
  last_error: string | null;
}

function fromRow(r: CursorRow): ExportCursor {
  return {
    sink: r.sink,
    host: r.host,
    captureId: r.capture_id,
    doneId: r.done_id,
    syncedTs: r.synced_ts,
    rowsSent: r.rows_sent,
    complete: r.complete === 1,
    lastError: r.last_error,
  };
}

export function readCursor(db: Database, sink: string, host: string, captureId: number): ExportCursor {
  const r = db.prepare('SELECT * FROM export_cursors WHERE sink = ? AND host = ? AND capture_id = ?').get(sink, host, captureId) as CursorRow | undefined;
  return r ? fromRow(r) : { sink, host, captureId, doneId: 0, syncedTs: null, rowsSent: 0, complete: false, lastError: null };
}

export function writeCursor(db: Database, c: ExportCursor): void {
  db.prepare(
    `INSERT INTO export_cursors (sink, host, capture_id, done_id, synced_ts, rows_sent, complete, last_error, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (sink, host, capture_id) DO UPDATE SET
       done_id = excluded.done_id, synced_ts = excluded.synced_ts, rows_sent = excluded.rows_sent,
       complete = excluded.complete, last_error = excluded.last_error, updated_at = excluded.updated_at`,
  ).run(c.sink, c.host, c.captureId, c.doneId, c.syncedTs, c.rowsSent, c.complete ? 1 : 0, c.lastError, Date.now() / 1000);
}

/** One line of `wirestate export --status`: a capture against a sink, and how far behind it is. */
export interface ExportLag {
  sink: string;
  host: string;
  captureId: number;
  captureLastTs: number | null;
  syncedTs: number | null;
  /** Seconds of capture not yet known to be all in the sink (null: nothing sent yet). */
  lagS: number | null;
  /** Flows with id > done_id: the ones a resumed export reads again. */
  flowsPending: number;
  complete: boolean;
  lastError: string | null;
}

export function exportLags(db: Database): ExportLag[] {
  const rows = db
    .prepare(
      `SELECT e.*, c.last_ts AS capture_last_ts,
              (SELECT count(*) FROM flows f WHERE f.capture_id = e.capture_id AND f.id > e.done_id) AS pending
       FROM export_cursors e JOIN captures c ON c.id = e.capture_id
       ORDER BY e.sink, e.host, e.capture_id`,
    )
    .all() as Array<CursorRow & { capture_last_ts: number | null; pending: number }>;
  return rows.map((r) => ({
    sink: r.sink,
    host: r.host,
    captureId: r.capture_id,
    captureLastTs: r.capture_last_ts,
    syncedTs: r.synced_ts,
    lagS: r.complete === 1 ? 0 : r.synced_ts === null || r.capture_last_ts === null ? null : Math.max(0, r.capture_last_ts - r.synced_ts),
    flowsPending: r.complete === 1 ? 0 : r.pending,
    complete: r.complete === 1,
    lastError: r.last_error,
  }));
}
