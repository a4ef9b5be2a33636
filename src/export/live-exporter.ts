import { timelineRows } from './timeline-rows';
import Database from 'better-sqlite3';
import type { ClickHouseSink } from './clickhouse-sink';
import { readCursor, writeCursor, type ExportCursor } from './export-cursor';
import { ExportError } from './export-error';
import { ExportReader, type ExportBatch } from './export-rows';
import { DEFAULT_BATCH_ROWS, sendBatch } from './capture-export';

export interface LiveExporterOptions {
  sink: ClickHouseSink;
  dbPath: string;
  captureId: number;
  host: string;
  /** Flows per INSERT (default 10000). */
  batchRows?: number;
  /**
   * Changed flows remembered in memory while the sink is behind (default
   * 100000). Past that the list is dropped and the export falls back to
   * reading the capture again from the cursor in SQLite: memory stays
   * bounded however long ClickHouse is away, and nothing is lost.
   */
  maxPending?: number;
  /** First retry delay after a failure, doubled each time up to maxBackoffMs (defaults 250 / 30000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told when the export starts waiting (with the reason) and when it has caught up again. */
  onStateChange?: (s: ExportStatus) => void;
}

export interface ExportStatus {
  /** 'ok': caught up or sending; 'waiting': the last try failed, retrying with backoff. */
  state: 'ok' | 'waiting';
  /** The last failure, one line (null when the last try worked). */
  error: string | null;
  /** Flows written to SQLite and not yet in the sink (a lower bound while re-reading from the cursor). */
  pendingFlows: number;
  /** Seconds of capture not yet all in the sink: last flush time − the flush time of the last export that caught up. */
  lagS: number;
  inserts: number;
  flowsSent: number;
  retries: number;
  /** Re-reading the capture from the SQLite cursor (the in-memory list overflowed). */
  rescanning: boolean;
}

/**
 * Sends a live capture to ClickHouse as the pipeline writes it to SQLite.
 * The pipeline tells it which flows it wrote (`noteFlows`) and when a flush
 * is done (`flushed`); each flush becomes one round: the changed flows read
 * back from SQLite as they are now, with their transitions and the capture
 * row, in one INSERT per table. SQLite stays the source of truth: a failed
 * round leaves its flows marked and is retried with backoff (never more than
 * one round in flight), the capture keeps going meanwhile, and the cursor in
 * export_cursors records what is safely in, so `wirestate export` can finish
 * the job after a crash.
 */
export class LiveExporter {
  private readonly o: Required<Omit<LiveExporterOptions, 'onStateChange'>> & Pick<LiveExporterOptions, 'onStateChange'>;
  private readonly db: Database.Database;
  private readonly reader: ExportReader;
  private readonly cursor: ExportCursor;
  /** uid → generation of the write that marked it; a round clears only what did not change while it was in flight. */
  private pending = new Map<number, number>();
  private gen = 0;
  private rescan = false;
  private rescanFrom = 0;
  private inFlight: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private nextTryAt = 0;
  private lastFlushTs = 0;
  private syncedTs = 0;
  private captureDirty = true;
  private closed = false;
  private readonly st: ExportStatus = { state: 'ok', error: null, pendingFlows: 0, lagS: 0, inserts: 0, flowsSent: 0, retries: 0, rescanning: false };

  constructor(opts: LiveExporterOptions) {
    this.o = {
      batchRows: DEFAULT_BATCH_ROWS,
      maxPending: 100000,
      minBackoffMs: 250,
      maxBackoffMs: 30000,
      ...opts,
    };
    // A connection of its own (WAL: reading never blocks the pipeline's writes).
    this.db = new Database(opts.dbPath, { fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
    this.reader = new ExportReader(this.db);
    this.cursor = readCursor(this.db, opts.sink.target.display, opts.host, opts.captureId);
    this.syncedTs = this.cursor.syncedTs ?? 0;
  }

  /** Flows just written to SQLite (hook: after each write). */
  noteFlows(uids: Iterable<number>): void {
    if (this.closed) return;
    for (const uid of uids) {
      this.pending.delete(uid); // re-insert: the Map's order stays oldest change first
      this.pending.set(uid, ++this.gen);
    }
    if (this.pending.size > this.o.maxPending) {
      // Bounded backlog: forget the list, read the capture again from the cursor once the sink is back.
      this.pending.clear();
      this.rescan = true;
      this.rescanFrom = this.cursor.doneId;
    }
  }

  /** A flush is in SQLite up to `tsUs` (hook: after the capture row moved); starts a round unless one is running or backing off. */
  flushed(tsUs: number): void {
    if (this.closed) return;
    this.lastFlushTs = tsUs / 1e6;
    if (this.syncedTs === 0) this.syncedTs = this.lastFlushTs;
    this.captureDirty = true;
    this.kick();
  }

  status(): ExportStatus {
    this.st.pendingFlows = this.pending.size;
    this.st.rescanning = this.rescan;
    this.st.lagS = Math.max(0, this.lastFlushTs - this.syncedTs);
    return { ...this.st };
  }

  private kick(): void {
    if (this.inFlight !== null || this.closed || this.retryTimer !== null) return;
    if (Date.now() < this.nextTryAt) return;
    if (!this.rescan && this.pending.size === 0 && !this.captureDirty) return;
    this.inFlight = this.round().finally(() => {
      this.inFlight = null;
    });
  }

  /** Read and send one batch; on failure schedule the retry. Never rejects. */
  private async round(): Promise<void> {
    const flushTs = this.lastFlushTs;
    let batch: ExportBatch;
    let inserts = 0;
    const taken: Array<[number, number]> = [];
    const wasRescan = this.rescan;
    try {
      if (wasRescan) {
        batch = this.reader.range(this.o.captureId, this.rescanFrom, this.o.batchRows, this.o.host);
      } else {
        for (const e of this.pending) {
          taken.push(e);
          if (taken.length >= this.o.batchRows) break;
        }
        batch = this.reader.uids(this.o.captureId, taken.map(([uid]) => uid), this.o.host);
      }
      this.captureDirty = false;
      inserts = await sendBatch(this.o.sink, batch);
    } catch (err) {
      this.captureDirty = true;
      this.failed(err);
      return;
    }
    this.st.inserts += inserts;
    this.st.flowsSent += batch.flows.length;
    this.cursor.rowsSent += batch.flows.length + batch.transitions.length + batch.captures.length;
    if (wasRescan) {
      if (batch.flows.length < this.o.batchRows) this.rescan = false;
      else this.rescanFrom = batch.maxId;
    } else {
      for (const [uid, g] of taken) if (this.pending.get(uid) === g) this.pending.delete(uid);
    }
    const caughtUp = !this.rescan && this.pending.size === 0;
    if (caughtUp) {
      this.syncedTs = flushTs;
      this.cursor.syncedTs = flushTs;
      // Everything written is in: only unfinished flows may still change.
      const open = this.db.prepare('SELECT min(id) AS open, max(id) AS last FROM flows WHERE capture_id = ? AND id > ? AND finished = 0').get(this.o.captureId, this.cursor.doneId) as { open: number | null };
      const last = this.db.prepare('SELECT max(id) AS last FROM flows WHERE capture_id = ?').get(this.o.captureId) as { last: number | null };
      this.cursor.doneId = open.open !== null ? open.open - 1 : (last.last ?? this.cursor.doneId);
    }
    this.cursor.lastError = null;
    this.saveCursor();
    const wasWaiting = this.st.state === 'waiting';
    this.failures = 0;
    this.nextTryAt = 0;
    this.st.state = 'ok';
    this.st.error = null;
    if (wasWaiting) this.o.onStateChange?.(this.status());
    // More to send (a capped batch, the rest of a re-read): go on without waiting for the next flush.
    if (!caughtUp && !this.closed) setImmediate(() => this.kick());
  }

  private failed(err: unknown): void {
    const e = err instanceof ExportError ? err : new ExportError('server', err instanceof Error ? err.message : String(err));
    this.failures++;
    this.st.retries++;
    const delay = Math.min(this.o.maxBackoffMs, this.o.minBackoffMs * 2 ** Math.min(this.failures - 1, 20));
    this.nextTryAt = Date.now() + delay;
    const changed = this.st.state !== 'waiting' || this.st.error !== e.message;
    this.st.state = 'waiting';
    this.st.error = e.message;
    this.cursor.lastError = e.message;
    this.saveCursor();
    if (changed) this.o.onStateChange?.(this.status());
    if (!this.closed) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        // Due now (a timer may fire a millisecond before Date.now() says so: never skip the retry).
        this.nextTryAt = 0;
        this.kick();
      }, delay);
      this.retryTimer.unref();
    }
  }

  private saveCursor(): void {
    try {
      writeCursor(this.db, this.cursor);
    } catch {
      // A busy database: the cursor is written again after the next round; it only saves re-sending.
    }
  }

  /**
   * The capture has stopped (its row is closed in SQLite): send what is left
   * and mark the capture complete, retrying until `timeoutMs` has passed.
   * Resolves with the final status; pendingFlows > 0 (or state 'waiting')
   * means `wirestate export` has to send the rest later.
   */
  async finish(timeoutMs: number): Promise<ExportStatus & { complete: boolean }> {
    const deadline = Date.now() + timeoutMs;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.captureDirty = true;
    let complete = false;
    for (;;) {
      if (this.inFlight) await this.inFlight;
      if (!this.rescan && this.pending.size === 0 && !this.captureDirty) {
        complete = true;
        break;
      }
      const wait = this.nextTryAt - Date.now();
      if (Date.now() >= deadline || Date.now() + Math.max(0, wait) > deadline) break;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
      }
      this.inFlight = this.round().finally(() => {
        this.inFlight = null;
      });
    }
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (complete) {
      const c = this.db.prepare('SELECT completed, last_ts FROM captures WHERE id = ?').get(this.o.captureId) as { completed: number; last_ts: number | null };
      let timelineSent = false;
      if (c.completed === 1) {
        try {
          await this.o.sink.insert('state_timeline', timelineRows(this.db, this.o.captureId, this.o.host, c.last_ts));
          timelineSent = true;
        } catch {
          // left to `wirestate export`, which sends the timeline of a capture whose cursor is not complete
        }
      }
      if (c.completed === 1 && timelineSent) {
        this.cursor.complete = true;
        this.cursor.syncedTs = c.last_ts;
        const last = this.db.prepare('SELECT max(id) AS last FROM flows WHERE capture_id = ?').get(this.o.captureId) as { last: number | null };
        this.cursor.doneId = last.last ?? this.cursor.doneId;
        this.syncedTs = c.last_ts ?? this.syncedTs;
        this.lastFlushTs = c.last_ts ?? this.lastFlushTs;
      }
      this.saveCursor();
    }
    const s = this.status();
    this.db.close();
    await this.o.sink.close();
    return { ...s, complete: complete && this.cursor.complete };
  }
}
