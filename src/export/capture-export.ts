import type { Database } from 'better-sqlite3';
import type { ClickHouseSink } from './clickhouse-sink';
import { readCursor, writeCursor, type ExportCursor } from './export-cursor';
import { ExportReader, type ExportBatch } from './export-rows';
import { timelineRows } from './timeline-rows';

/** Flows per INSERT: ClickHouse wants few large inserts (each one is a part on disk). */
export const DEFAULT_BATCH_ROWS = 10000;

/**
 * Send one batch: flows, then their transitions, then the capture row
 * (one INSERT per table that has rows; returns how many). A batch that fails half-way is sent again whole later:
 * every table dedups on its key, so the repeat is harmless.
 */
export async function sendBatch(sink: ClickHouseSink, b: ExportBatch): Promise<number> {
  let inserts = 0;
  for (const [table, rows] of [['flows', b.flows], ['transitions', b.transitions], ['captures', b.captures]] as const) {
    if (rows.length === 0) continue;
    await sink.insert(table, rows);
    inserts++;
  }
  return inserts;
}

export interface CaptureExportResult {
  captureId: number;
  /** Flows sent this time (0 when the cursor said the capture was all sent). */
  flows: number;
  transitions: number;
  /** state_timeline rows sent (only when the capture is complete). */
  timelinePoints: number;
  inserts: number;
  /** The capture was finished and is now all in the sink. */
  complete: boolean;
  alreadyComplete: boolean;
}

/**
 * Send what the cursor says the sink may not have of one capture: every flow
 * past `done_id` (batches of `batchRows`, oldest first), then the capture
 * row. The cursor moves after each batch that went in, so an interrupted
 * export resumes where it stopped, and a repeated one re-sends at most the
 * last batch (harmless). A capture still running is sent as it is now; its
 * unfinished flows are read again next time.
 */
export async function exportCapture(
  db: Database,
  sink: ClickHouseSink,
  captureId: number,
  host: string,
  opts: { batchRows?: number } = {},
): Promise<CaptureExportResult> {
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  const reader = new ExportReader(db);
  const cursor: ExportCursor = readCursor(db, sink.target.display, host, captureId);
  const res: CaptureExportResult = { captureId, flows: 0, transitions: 0, timelinePoints: 0, inserts: 0, complete: cursor.complete, alreadyComplete: cursor.complete };
  if (cursor.complete) return res;
  // As of the start: a capture that completes during the export is finished next time.
  const start = reader.captureRow(captureId, host);
  if (start === undefined) throw new Error(`capture ${captureId} not in the database`);
  const completed = start.completed === 1;
  let after = cursor.doneId;
  let openFloor: number | null = null;
  for (;;) {
    const b = reader.range(captureId, after, batchRows, host);
    if (b.flows.length === 0) break;
    // The capture row as of the start (not as of this batch): its last_ts never claims flows not yet sent.
    b.captures = [start];
    res.inserts += await sendBatch(sink, b);
    res.flows += b.flows.length;
    res.transitions += b.transitions.length;
    if (b.minOpenId !== null && openFloor === null) openFloor = b.minOpenId;
    after = b.maxId;
    cursor.rowsSent += b.flows.length + b.transitions.length + 1;
    // Flows of a completed capture never change again; of a running one, only finished ones are final.
    if (completed || openFloor === null) cursor.doneId = after;
    cursor.lastError = null;
    writeCursor(db, cursor);
  }
  if (res.flows === 0) {
    await sink.insert('captures', [start]);
    res.inserts++;
  }
  if (completed) {
    // The timeline of a finished capture is final: sent once, before the cursor says complete.
    const rows = timelineRows(db, captureId, host, start.last_ts as number | null);
    if (rows.length > 0) {
      await sink.insert('state_timeline', rows);
      res.inserts++;
    }
    res.timelinePoints = rows.length;
  }
  cursor.syncedTs = (start.last_ts as number | null) ?? cursor.syncedTs;
  cursor.complete = completed;
  writeCursor(db, cursor);
  res.complete = cursor.complete;
  return res;
}
