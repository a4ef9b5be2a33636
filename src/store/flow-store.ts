import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { FlowRecord } from '../tcp/flow-record';
import { encodeFlowRecords, F, FIXED, nextFlow, S, type FlowBatch } from '../tcp/flow-batch';
import { HttpFactsWriter } from './http-facts-writer';
import { migrate, schemaVersion } from './migrate';
import { SCHEMA_VERSION } from './schema';
import { StoreError } from './store-error';
import { TransitionText } from './transition-text';

/** Microseconds since the epoch → REAL Unix seconds as stored. */
export function usToSec(us: number): number {
  return us / 1e6;
}
function usToSecOrNull(us: number | null | undefined): number | null {
  return us === null || us === undefined ? null : us / 1e6;
}

export interface CaptureMeta {
  source: string;
  kind: 'file' | 'live';
  format?: string | null;
  linktypes?: number[];
  sha256?: string | null;
  startedTsUs?: number | null;
}

export interface CaptureSummary {
  firstTsUs: number | null;
  lastTsUs: number | null;
  packets: number;
  tcpPackets: number;
  bytes: number;
  anomalies: Record<string, number>;
  truncated: boolean;
  damage?: string | null;
  drops?: number | null;
  /** Capture-loss estimate's counts (TcpEngine.lossCounts); absent: unknown (NULL). */
  loss?: { ackedBytes: number; gapBytes: number } | null;
  /** Known only once the input was read (e.g. standard input): overwrite the values given to beginCapture. */
  format?: string | null;
  linktypes?: number[];
  sha256?: string | null;
}

/** One input file of a (possibly multi-file) file capture; its hash makes ingest idempotent. */
/** How far a running (live) capture has got: written at every flush. */
export interface CaptureProgress {
  /** End of observation so far (live: the flush time, this host's clock). */
  lastTsUs: number;
  packets: number;
  tcpPackets: number;
  bytes: number;
  /** First packet, once there was one (the capture row starts with the start time). */
  firstTsUs?: number | null;
}

export interface CaptureFileInfo {
  path: string;
  sha256: string;
  format: string | null;
  size: number | null;
  packets: number;
  firstTsUs: number | null;
  lastTsUs: number | null;
  truncated: boolean;
  damage: string | null;
}

export interface StoredFile {
  captureId: number;
  path: string;
}

/**
 * The SQLite flow database. Schema and views: see schema.ts (and the README).
 * WAL mode; migrations are applied on open unless read-only.
 *
 * `writeFlows` commits per call unless the caller opened a transaction with
 * `beginTransaction()` (file ingest wraps the whole ingest in one).
 */
export class FlowStore {
  readonly db: Database.Database;
  readonly file: string;
  private readonly upsertFlow: Database.Statement;
  private readonly insertFlow: Database.Statement;
  private readonly deleteTransitions: Database.Statement;
  private readonly insertTransitions: Database.Statement;
  private readonly insertTransitionsBlock: Database.Statement;
  /** flow_transitions values (flow_id, time_wait, base_us, data) waiting for a multi-row INSERT (fewer calls into SQLite). */
  private pendingTransitions: (string | number)[] = [];
  /**
   * transition_words ids of the state names and causes used in the current
   * transaction. Only trusted within one transaction (a rollback, also one
   * SQLite makes on its own after an I/O error, can take new words away), so
   * it starts empty in each: a handful of lookups per transaction.
   */
  private readonly words = new Map<string, number>();
  private readonly upsertWord: Database.Statement;
  private readonly timeline = new TransitionText((word) => this.wordId(word));
  private readonly deleteOwners: Database.Statement;
  private readonly deleteFlowAnomalies: Database.Statement;
  private readonly insertFlowAnomaly: Database.Statement;
  private readonly insertOwner: Database.Statement;
  private readonly httpFacts: HttpFactsWriter;
  private updateProgress: Database.Statement | null = null;
  /** CREATE INDEX statements of indexes dropped for a bulk load, run again at commit. */
  private deferredIndexes: string[] = [];
  private readonly writeRowsTx: Database.Transaction<(captureId: number, rows: FlowBatch, fresh: boolean) => void>;
  /** Bound values of one flows row (capture_id, then FLOW_COLUMNS), reused. */
  private readonly rowValues: (number | string | null)[] = new Array(FLOW_COLUMNS.length).fill(null);
  /** Multi-row flows INSERTs by row count (powers of two up to FLOW_BLOCK). */
  private readonly flowBlocks = new Map<number, FlowBlock>();
  /** Batch positions of the flows of the block being written. */
  private readonly blockStarts = new Int32Array(FLOW_BLOCK);
  private readonly maxFlowId: Database.Statement;

  private constructor(db: Database.Database, file: string) {
    this.db = db;
    this.file = file;
    this.upsertFlow = db.prepare(UPSERT_FLOW_SQL);
    this.insertFlow = db.prepare(INSERT_FLOW_SQL);
    this.maxFlowId = db.prepare('SELECT max(id) AS id FROM flows');
    this.deleteTransitions = db.prepare('DELETE FROM flow_transitions WHERE flow_id = ?');
    // OR REPLACE: a flow written twice in one batch (live upserts) keeps its newest timeline.
    this.insertTransitions = db.prepare('INSERT OR REPLACE INTO flow_transitions (flow_id, time_wait, base_us, data) VALUES (?, ?, ?, ?)');
    this.insertTransitionsBlock = db.prepare(
      `INSERT OR REPLACE INTO flow_transitions (flow_id, time_wait, base_us, data) VALUES ${Array(TRANSITION_BLOCK).fill('(?, ?, ?, ?)').join(', ')}`,
    );
    this.upsertWord = db.prepare('INSERT INTO transition_words (word) VALUES (?) ON CONFLICT (word) DO UPDATE SET word = excluded.word RETURNING id');
    this.deleteOwners = db.prepare('DELETE FROM socket_owners WHERE flow_id = ?');
    this.deleteFlowAnomalies = db.prepare('DELETE FROM anomalies WHERE flow_id = ?');
    this.insertFlowAnomaly = db.prepare('INSERT INTO anomalies (capture_id, flow_id, name, count) VALUES (?, ?, ?, ?)');
    this.insertOwner = db.prepare('INSERT INTO socket_owners (flow_id, endpoint, pid, command) VALUES (?, ?, ?, ?)');
    this.httpFacts = new HttpFactsWriter(db);
    this.writeRowsTx = db.transaction((captureId: number, rows: FlowBatch, fresh: boolean) => {
      this.timeline.begin(rows.texts);
      if (fresh) this.writeFresh(captureId, rows);
      else {
        const texts = rows.texts;
        let p = 0;
        for (let i = 0; i < rows.count; i++) p = this.writeOne(captureId, rows.nums, p, texts, false);
      }
      this.flushTransitions();
      this.httpFacts.flush();
    });
  }

  /**
   * Open (creating if needed) a database. Read-only opens require the file to
   * exist and to carry the current schema; they never migrate.
   */
  static open(dbPath: string, opts: { readonly?: boolean } = {}): FlowStore {
    const readonly = opts.readonly === true;
    if (readonly && dbPath !== ':memory:' && !fs.existsSync(dbPath)) {
      throw new StoreError('missing', `${dbPath}: no such database (create one with: wirestate ingest FILE --db ${dbPath})`);
    }
    let db: Database.Database;
    try {
      db = new Database(dbPath, { readonly, fileMustExist: readonly });
    } catch (err) {
      throw new StoreError('sqlite', `${dbPath}: ${(err as Error).message}`);
    }
    try {
      if (readonly) {
        db.pragma('query_only = ON');
        const v = schemaVersion(db);
        if (v === 0) throw new StoreError('not_wirestate', `${dbPath}: not a wirestate database (schema version 0)`);
        if (v > SCHEMA_VERSION) {
          throw new StoreError('too_new', `${dbPath}: database schema version ${v} is newer than this wirestate understands (${SCHEMA_VERSION})`);
        }
        if (v < SCHEMA_VERSION) {
          throw new StoreError('too_old', `${dbPath}: database schema version ${v} is older than ${SCHEMA_VERSION}; run wirestate ingest on it once to upgrade`);
        }
      } else {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        db.pragma('busy_timeout = 5000');
        migrate(db, dbPath);
      }
    } catch (err) {
      db.close();
      if (err instanceof StoreError) throw err;
      throw new StoreError('sqlite', `${dbPath}: ${(err as Error).message}`);
    }
    return new FlowStore(db, dbPath);
  }

  beginCapture(meta: CaptureMeta): number {
    const r = this.db
      .prepare(
        `INSERT INTO captures (source, kind, format, linktypes, sha256, first_ts, ingested_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        meta.source,
        meta.kind,
        meta.format ?? null,
        meta.linktypes && meta.linktypes.length > 0 ? meta.linktypes.join(',') : null,
        meta.sha256 ?? null,
        usToSecOrNull(meta.startedTsUs),
        Date.now() / 1000,
      );
    return Number(r.lastInsertRowid);
  }

  /**
   * Insert or update flows by (capture_id, uid); a flow's transitions and
   * owners are replaced. `opts.fresh` (file ingest, where the engine emits
   * each flow once) takes a plain-INSERT fast path; a flow that turns out to
   * exist already still gets updated.
   */
  writeFlows(captureId: number, flows: readonly FlowRecord[], opts: { fresh?: boolean } = {}): void {
    if (flows.length > 0) this.writeRows(captureId, encodeFlowRecords(flows), opts);
  }

  /** writeFlows for flows already encoded (flow-batch.ts), e.g. by the engine of the thread that tracked them. */
  writeRows(captureId: number, rows: FlowBatch, opts: { fresh?: boolean } = {}): void {
    if (rows.count === 0) return;
    if (!this.db.inTransaction) this.words.clear();
    try {
      // IMMEDIATE when fresh and not yet in a transaction: writeFresh reads max(id) first, and must hold the write lock from then on.
      if (opts.fresh === true) this.writeRowsTx.immediate(captureId, rows, true);
      else this.writeRowsTx(captureId, rows, false);
    } catch (err) {
      // Rolled back (at least to the savepoint): word ids added in it may be gone.
      this.words.clear();
      this.pendingTransitions.length = 0;
      this.httpFacts.discard();
      throw err;
    }
  }

  /**
   * A fresh batch (file ingest: the engine emits each flow once): the flows
   * rows go in by multi-row INSERTs with the ids given here, max(id) + 1
   * onward, which is what SQLite would pick row by row (this connection is
   * inside its transaction, so nobody else adds rows meanwhile); then each
   * block's anomalies, timelines and HTTP facts. A block that meets a row of
   * the same (capture_id, uid) fails as a whole (the statement is undone)
   * and is written again flow by flow through writeOne, which updates the
   * existing row.
   */
  private writeFresh(captureId: number, rows: FlowBatch): void {
    const a = rows.nums;
    const texts = rows.texts;
    const starts = this.blockStarts;
    let nextId = this.nextFlowId();
    let p = 0;
    for (let done = 0; done < rows.count; ) {
      let n = FLOW_BLOCK;
      while (n > rows.count - done) n >>= 1;
      const block = this.flowBlock(n);
      const v = block.values;
      const q = p;
      for (let k = 0, at = 0; k < n; k++, at += FLOW_COLUMNS.length + 1) {
        starts[k] = p;
        v[at] = nextId + k;
        flowValues(v, at + 1, captureId, a, p, texts);
        p = nextFlow(a, p);
      }
      let inserted = true;
      try {
        // Spread, not the array: better-sqlite3 reads an array's elements through the V8 API, one call each.
        block.insert.run(...v);
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
        inserted = false;
      }
      if (inserted) {
        for (let k = 0; k < n; k++) this.writeDependents(captureId, nextId + k, a, starts[k], texts, false);
        nextId += n;
      } else {
        for (let k = 0, r = q; k < n; k++) r = this.writeOne(captureId, a, r, texts, true);
        nextId = this.nextFlowId();
      }
      done += n;
    }
  }

  /** The id SQLite would give the next flows row: one more than the largest (1 in an empty table). */
  private nextFlowId(): number {
    return (this.maxFlowId.get() as { id: number | null }).id! + 1;
  }

  /** The multi-row INSERT of n flows rows with their ids, and its reused values, prepared on first use. */
  private flowBlock(n: number): FlowBlock {
    let b = this.flowBlocks.get(n);
    if (b === undefined) {
      const row = `(${Array(FLOW_COLUMNS.length + 1).fill('?').join(', ')})`;
      b = {
        insert: this.db.prepare(`INSERT INTO flows (id, ${FLOW_COLUMNS.join(', ')}) VALUES ${Array(n).fill(row).join(', ')}`),
        values: new Array((FLOW_COLUMNS.length + 1) * n).fill(null),
      };
      this.flowBlocks.set(n, b);
    }
    return b;
  }

  /** The flow at position `p` of a batch's values (flow-batch.ts), one row at a time; returns the position of the next flow. */
  private writeOne(captureId: number, a: Float64Array, p: number, texts: readonly string[], fresh: boolean): number {
    const v = this.rowValues;
    flowValues(v, 0, captureId, a, p, texts);
    let flowId = 0;
    let inserted = false;
    if (fresh) {
      try {
        flowId = Number(this.insertFlow.run(...v).lastInsertRowid);
        inserted = true;
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
      }
    }
    if (!inserted) {
      flowId = (this.upsertFlow.get(v) as { id: number }).id;
      this.deleteTransitions.run(flowId);
      this.deleteOwners.run(flowId);
      this.deleteFlowAnomalies.run(flowId);
    }
    return this.writeDependents(captureId, flowId, a, p, texts, !inserted);
  }

  /**
   * The rows that hang off the flow at `p` once its flows row has the id
   * `flowId`: per-flow anomalies, the timeline, socket owners, HTTP facts.
   * `existing`: the flows row was there before (an update). Returns the
   * position of the next flow.
   */
  private writeDependents(captureId: number, flowId: number, a: Float64Array, p: number, texts: readonly string[], existing: boolean): number {
    const o = p + F.ORIG;
    const r = p + F.RESP;
    const retrans = a[o + S.RETRANSMITS] + a[r + S.RETRANSMITS];
    const ooo = a[o + S.OUT_OF_ORDER] + a[r + S.OUT_OF_ORDER];
    const zw = a[o + S.ZERO_WINDOWS] + a[r + S.ZERO_WINDOWS];
    // Capture loss only: a headers-only capture is not packet loss (missed_bytes, Zeek's, counts the cut payload).
    const missed = a[p + F.LOST_BYTES];
    const midstream = a[p + F.MIDSTREAM] === 1;
    p += FIXED;
    // Per-flow anomalies: only the ones that occurred (most flows have none).
    if (retrans > 0) this.insertFlowAnomaly.run(captureId, flowId, 'tcp_retransmission', retrans);
    if (ooo > 0) this.insertFlowAnomaly.run(captureId, flowId, 'tcp_out_of_order', ooo);
    if (zw > 0) this.insertFlowAnomaly.run(captureId, flowId, 'tcp_zero_window', zw);
    if (missed > 0) this.insertFlowAnomaly.run(captureId, flowId, 'tcp_missed_bytes', missed);
    if (midstream) this.insertFlowAnomaly.run(captureId, flowId, 'tcp_midstream_pickup', 1);
    // What the engine itself flagged on this flow (rst_out_of_window, fin_implied_by_ack, ...).
    const nAnomalies = a[p++];
    for (let i = 0; i < nAnomalies; i++, p += 2) {
      if (a[p + 1] > 0) this.insertFlowAnomaly.run(captureId, flowId, texts[a[p]], a[p + 1]);
    }
    const nTransitions = a[p++];
    if (nTransitions > 0) {
      const base = a[p];
      const data = this.timeline.json(a, p, nTransitions);
      const timeWait = this.timeline.timeWait;
      p += nTransitions * 5;
      const pt = this.pendingTransitions;
      pt.push(flowId, timeWait, base, data);
      if (pt.length === TRANSITION_BLOCK * 4) {
        this.insertTransitionsBlock.run(...pt);
        pt.length = 0;
      }
    }
    const nOwners = a[p++];
    for (let i = 0; i < nOwners; i++, p += 3) {
      this.insertOwner.run(flowId, a[p] === 0 ? 'orig' : 'resp', a[p + 1], texts[a[p + 2]]);
    }
    return this.httpFacts.write(flowId, a, p, texts, existing);
  }

  /** Id of a state name or cause in transition_words, added on first use. */
  private wordId(word: string): number {
    let id = this.words.get(word);
    if (id === undefined) {
      id = (this.upsertWord.get(word) as { id: number }).id;
      this.words.set(word, id);
    }
    return id;
  }

  private flushTransitions(): void {
    const pt = this.pendingTransitions;
    for (let i = 0; i < pt.length; i += 4) this.insertTransitions.run(pt[i], pt[i + 1], pt[i + 2], pt[i + 3]);
    pt.length = 0;
  }

  /**
   * A capture whose every flow was seen one direction only, the originators'
   * (at least one proven by its ACKs, none seen both ways): its SYN-only
   * flows are not proof of an unanswered SYN, the reply direction was never
   * captured. They become close_kind 'unknown', captured_only 'orig'
   * (close-kind.ts).
   */
  private markUnseenReplies(captureId: number): void {
    this.db
      .prepare(
        `UPDATE flows SET close_kind = 'unknown', captured_only = 'orig', close_kind_inferred = 0
         WHERE capture_id = @id AND close_kind = 'no_reply' AND resp_pkts = 0
           AND EXISTS (SELECT 1 FROM flows g WHERE g.capture_id = @id AND g.captured_only = 'orig')
           AND NOT EXISTS (SELECT 1 FROM flows g WHERE g.capture_id = @id AND (g.captured_only = 'resp' OR (g.orig_pkts > 0 AND g.resp_pkts > 0)))`,
      )
      .run({ id: captureId });
  }

  /**
   * Close a running capture (completed = 1) with its final summary. A
   * capture already closed is left as it is, so a late close (a supervisor
   * cleaning up after its child) never overwrites a good final row.
   * Returns false when there was no running capture with that id.
   */
  endCapture(captureId: number, s: CaptureSummary): boolean {
    const tx = this.db.transaction((): boolean => {
      const flows = this.db.prepare('SELECT count(*) AS n FROM flows WHERE capture_id = ?').get(captureId) as { n: number };
      const closed = this.db
        .prepare(
          `UPDATE captures SET first_ts = ?, last_ts = ?, packets = ?, tcp_packets = ?, bytes = ?, flows = ?,
             truncated = ?, damage = ?, drops = ?, loss_acked_bytes = ?, loss_gap_bytes = ?, completed = 1,
             format = COALESCE(?, format), linktypes = COALESCE(?, linktypes), sha256 = COALESCE(?, sha256)
           WHERE id = ? AND completed = 0`,
        )
        .run(
          usToSecOrNull(s.firstTsUs),
          usToSecOrNull(s.lastTsUs),
          s.packets,
          s.tcpPackets,
          s.bytes,
          flows.n,
          s.truncated ? 1 : 0,
          s.damage ?? null,
          s.drops ?? null,
          s.loss ? s.loss.ackedBytes : null,
          s.loss ? s.loss.gapBytes : null,
          s.format ?? null,
          s.linktypes && s.linktypes.length > 0 ? s.linktypes.join(',') : null,
          s.sha256 ?? null,
          captureId,
        );
      if (closed.changes !== 1) return false;
      this.markUnseenReplies(captureId);
      this.db.prepare('DELETE FROM anomalies WHERE capture_id = ? AND flow_id IS NULL').run(captureId);
      const ins = this.db.prepare('INSERT INTO anomalies (capture_id, flow_id, name, count) VALUES (?, NULL, ?, ?)');
      for (const [name, count] of Object.entries(s.anomalies)) {
        if (count > 0) ins.run(captureId, name, count);
      }
      return true;
    });
    // IMMEDIATE: take the write lock first (waiting the busy timeout for another writer), not upgrade a read part-way.
    return tx.immediate();
  }

  /**
   * A running capture's progress: captures.last_ts (so the capture_end view,
   * and with it close_wait.stuck_s and the report's "stuck for", keep
   * growing while stuck connections are silent) and the packet counts.
   * The row stays `completed = 0`; a completed capture is never changed.
   * Returns false when there was no running capture with that id.
   */
  updateCaptureProgress(captureId: number, p: CaptureProgress): boolean {
    if (this.updateProgress === null) {
      this.updateProgress = this.db.prepare(
        `UPDATE captures SET last_ts = ?, packets = ?, tcp_packets = ?, bytes = ?, first_ts = COALESCE(?, first_ts)
         WHERE id = ? AND completed = 0`,
      );
    }
    const r = this.updateProgress.run(
      usToSec(p.lastTsUs),
      p.packets,
      p.tcpPackets,
      p.bytes,
      usToSecOrNull(p.firstTsUs),
      captureId,
    );
    return r.changes === 1;
  }

  /** Record one input file of a file capture. */
  addCaptureFile(captureId: number, seq: number, info: CaptureFileInfo): void {
    this.db
      .prepare(
        `INSERT INTO capture_files (capture_id, seq, path, sha256, format, size, packets, first_ts, last_ts, truncated, damage)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        captureId,
        seq,
        info.path,
        info.sha256,
        info.format,
        info.size,
        info.packets,
        usToSecOrNull(info.firstTsUs),
        usToSecOrNull(info.lastTsUs),
        info.truncated ? 1 : 0,
        info.damage,
      );
  }

  /** The capture that already holds a file with this content, if any. */
  findFile(sha256: string): StoredFile | undefined {
    const row = this.db.prepare('SELECT capture_id AS captureId, path FROM capture_files WHERE sha256 = ?').get(sha256) as
      | StoredFile
      | undefined;
    return row;
  }

  /**
   * Whether a stored file could have the same content as a file of this size:
   * one of the same size, or one whose size is unknown (standard input).
   * When not, ingest can hash the file while reading it instead of before.
   */
  mayHoldFileOfSize(size: number): boolean {
    return this.db.prepare('SELECT 1 FROM capture_files WHERE size = ? OR size IS NULL LIMIT 1').get(size) !== undefined;
  }

  /** Id of the newest capture, or undefined for an empty database. */
  latestCaptureId(): number | undefined {
    const row = this.db.prepare('SELECT max(id) AS id FROM captures').get() as { id: number | null };
    return row.id ?? undefined;
  }

  hasCapture(id: number): boolean {
    return this.db.prepare('SELECT 1 FROM captures WHERE id = ?').get(id) !== undefined;
  }

  /**
   * Open an explicit transaction (file ingest: all or nothing). For a bulk
   * load (`bulk`), this connection stops checking foreign keys until the
   * transaction ends (every id written is one it just created) and the
   * secondary indexes of tables still empty are dropped now and built again
   * by commit(): building an index from the finished table is much cheaper
   * than growing it row by row. A rollback, or a crash, brings them back
   * with everything else.
   */
  beginTransaction(opts: { bulk?: boolean } = {}): void {
    // BEGIN fails inside a transaction: checked first, so a caller's own transaction is never touched.
    if (this.db.inTransaction) throw new StoreError('sqlite', `${this.file}: a transaction is already open on this connection`);
    this.words.clear();
    this.deferredIndexes = [];
    if (opts.bulk === true) this.db.pragma('foreign_keys = OFF');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      if (opts.bulk === true) {
        for (const table of BULK_TABLES) {
          if (this.db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get() !== undefined) continue;
          const indexes = this.db
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL")
            .all(table) as { name: string; sql: string }[];
          for (const ix of indexes) {
            this.db.exec(`DROP INDEX "${ix.name}"`);
            this.deferredIndexes.push(ix.sql);
          }
        }
      }
    } catch (err) {
      this.rollback();
      throw err;
    }
  }
  commit(): void {
    for (const sql of this.deferredIndexes) this.db.exec(sql);
    this.deferredIndexes = [];
    this.db.exec('COMMIT');
    this.db.pragma('foreign_keys = ON');
  }
  rollback(): void {
    this.words.clear();
    this.deferredIndexes = [];
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    if (this.db.open) this.db.pragma('foreign_keys = ON');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Tables whose secondary indexes a bulk load into an empty table builds at the end. */
const BULK_TABLES = ['flows', 'flow_transitions', 'anomalies'];

/** Flows per multi-row flow_transitions INSERT. */
const TRANSITION_BLOCK = 64;

/** Most flows rows per multi-row INSERT (a power of two; 54 values a row). */
const FLOW_BLOCK = 64;

interface FlowBlock {
  insert: Database.Statement;
  /** id, then FLOW_COLUMNS, for each row. */
  values: (number | string | null)[];
}

/** Columns of `flows` in the order flowValues puts them. */
const FLOW_COLUMNS = [
  'capture_id',
  'uid',
  'ip_version',
  'orig_h',
  'orig_p',
  'resp_h',
  'resp_p',
  'first_ts',
  'last_ts',
  'duration',
  'orig_pkts',
  'orig_bytes',
  'orig_ip_bytes',
  'resp_pkts',
  'resp_bytes',
  'resp_ip_bytes',
  'missed_bytes',
  'retransmissions',
  'orig_retransmissions',
  'resp_retransmissions',
  'orig_out_of_order',
  'resp_out_of_order',
  'orig_keepalives',
  'resp_keepalives',
  'orig_zero_windows',
  'resp_zero_windows',
  'orig_wscale',
  'resp_wscale',
  'orig_mss',
  'resp_mss',
  'history',
  'conn_state',
  'midstream',
  'orig_state',
  'resp_state',
  'orig_state_since',
  'resp_state_since',
  'first_fin_by',
  'first_fin_ts',
  'idle_before_fin',
  'first_fin_acked',
  'peer_fin_sent',
  'first_rst_by',
  'close_kind',
  'finished',
  'captured_only',
  'orig_state_inferred',
  'resp_state_inferred',
  'close_kind_inferred',
  'vantage',
  'rtt_to_orig',
  'rtt_to_resp',
  'community_id',
];

/** The flows row of the flow at p of a batch (FLOW_COLUMNS, in order) into v from position `at`. */
function flowValues(v: (number | string | null)[], at: number, captureId: number, a: Float64Array, p: number, texts: readonly string[]): void {
  const o = p + F.ORIG;
  const r = p + F.RESP;
  const first = a[p + F.FIRST_TS];
  const last = a[p + F.LAST_TS];
  v[at] = captureId;
  v[at + 1] = a[p + F.UID];
  v[at + 2] = a[p + F.IP_VERSION];
  v[at + 3] = texts[a[p + F.ORIG_H]];
  v[at + 4] = a[p + F.ORIG_P];
  v[at + 5] = texts[a[p + F.RESP_H]];
  v[at + 6] = a[p + F.RESP_P];
  v[at + 7] = first / 1e6;
  v[at + 8] = last / 1e6;
  v[at + 9] = (last - first) / 1e6;
  v[at + 10] = a[o + S.PACKETS];
  v[at + 11] = a[o + S.BYTES];
  v[at + 12] = a[o + S.IP_BYTES];
  v[at + 13] = a[r + S.PACKETS];
  v[at + 14] = a[r + S.BYTES];
  v[at + 15] = a[r + S.IP_BYTES];
  v[at + 16] = a[p + F.MISSED];
  v[at + 17] = a[o + S.RETRANSMITS] + a[r + S.RETRANSMITS];
  v[at + 18] = a[o + S.RETRANSMITS];
  v[at + 19] = a[r + S.RETRANSMITS];
  v[at + 20] = a[o + S.OUT_OF_ORDER];
  v[at + 21] = a[r + S.OUT_OF_ORDER];
  v[at + 22] = a[o + S.KEEPALIVES];
  v[at + 23] = a[r + S.KEEPALIVES];
  v[at + 24] = a[o + S.ZERO_WINDOWS];
  v[at + 25] = a[r + S.ZERO_WINDOWS];
  v[at + 26] = a[o + S.WINDOW_SCALE] >= 0 ? a[o + S.WINDOW_SCALE] : null;
  v[at + 27] = a[r + S.WINDOW_SCALE] >= 0 ? a[r + S.WINDOW_SCALE] : null;
  v[at + 28] = a[o + S.MSS] > 0 ? a[o + S.MSS] : null;
  v[at + 29] = a[r + S.MSS] > 0 ? a[r + S.MSS] : null;
  v[at + 30] = texts[a[p + F.HISTORY]];
  v[at + 31] = texts[a[p + F.CONN_STATE]];
  v[at + 32] = a[p + F.MIDSTREAM];
  v[at + 33] = texts[a[p + F.ORIG_STATE]];
  v[at + 34] = texts[a[p + F.RESP_STATE]];
  v[at + 35] = a[p + F.ORIG_SINCE] / 1e6;
  v[at + 36] = a[p + F.RESP_SINCE] / 1e6;
  v[at + 37] = textOrNull(texts, a[p + F.FIRST_FIN_BY]);
  v[at + 38] = secondsOrNull(a[p + F.FIRST_FIN_TS]);
  v[at + 39] = secondsOrNull(a[p + F.IDLE_BEFORE_FIN]);
  v[at + 40] = a[p + F.FIRST_FIN_ACKED];
  v[at + 41] = a[p + F.PEER_FIN_SENT];
  v[at + 42] = textOrNull(texts, a[p + F.FIRST_RST_BY]);
  v[at + 43] = texts[a[p + F.CLOSE_KIND]];
  v[at + 44] = a[p + F.FINISHED];
  v[at + 45] = textOrNull(texts, a[p + F.CAPTURED_ONLY]);
  v[at + 46] = a[p + F.ORIG_STATE_INFERRED];
  v[at + 47] = a[p + F.RESP_STATE_INFERRED];
  v[at + 48] = a[p + F.CLOSE_KIND_INFERRED];
  v[at + 49] = textOrNull(texts, a[p + F.VANTAGE]);
  v[at + 50] = secondsOrNull(a[p + F.RTT_TO_ORIG]);
  v[at + 51] = secondsOrNull(a[p + F.RTT_TO_RESP]);
  v[at + 52] = texts[a[p + F.COMMUNITY_ID]];
}

function textOrNull(texts: readonly string[], i: number): string | null {
  return i !== i ? null : texts[i];
}

function secondsOrNull(us: number): number | null {
  return us !== us ? null : us / 1e6;
}

const INSERT_FLOW_SQL = `INSERT INTO flows (${FLOW_COLUMNS.join(', ')})
VALUES (${FLOW_COLUMNS.map(() => '?').join(', ')})`;

const UPSERT_FLOW_SQL = `${INSERT_FLOW_SQL}
ON CONFLICT (capture_id, uid) DO UPDATE SET
${FLOW_COLUMNS.filter((c) => c !== 'capture_id' && c !== 'uid')
  .map((c) => `  ${c} = excluded.${c}`)
  .join(',\n')}
RETURNING id`;
