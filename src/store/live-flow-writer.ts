import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FlowBatch } from '../tcp/flow-batch';
import type { CaptureProgress } from './flow-store';

/** What the writer thread needs to put socket owners into the flows it writes (src/host/batch-owners.ts). */
export interface LiveWriterOwners {
  /** Where the TCP tables are (default /proc/net). */
  netDir?: string;
}

/** Young-generation limit of the writer thread's heap (MB): what it allocates dies at once. */
const WRITER_YOUNG_GENERATION_MB = 4;

/** Messages to the live writer thread, handled strictly in order. */
export type LiveWriterRequest =
  /** rows.nums is transferred, not copied. */
  | { t: 'rows'; captureId: number; rows: FlowBatch }
  | { t: 'progress'; captureId: number; progress: CaptureProgress }
  /** Re-read the socket owners (and write again the flows written without one that have one now). */
  | { t: 'owners'; captureId: number }
  | { t: 'sync'; seq: number }
  | { t: 'close' };

export type LiveWriterReply =
  | { t: 'ready' }
  | { t: 'progressed'; progress: CaptureProgress }
  | { t: 'synced'; seq: number; flowsWithOwners: number }
  | { t: 'failed'; message: string; code?: string };

/**
 * A live capture's flow writes, in a worker thread with its own connection
 * to the database, so that SQLite (the upserts of the flows that finished or
 * changed, a flush's capture progress) never holds up the thread that
 * drains libpcap's ring: measured on this project's 2-core machine, the
 * inserts took a third of the capture thread's time at 50k packets/s, and
 * the ring overflowed during each chunk. Each `writeRows` commits on its
 * own; a `progress` is written after every batch posted before it and
 * reported back (onProgress), so captures.last_ts never runs ahead of the
 * flows. The first failure is reported once (onFailure) and the thread
 * writes nothing more.
 */
export class LiveFlowWriter {
  private readonly worker: Worker;
  private seq = 0;
  private syncs = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** Flows whose last record written had a socket owner, as of the last idle(). */
  flowsWithOwners = 0;
  private failed: Error | null = null;
  private exited = false;
  private onFail: (err: Error) => void = () => {};
  private onProgressed: (p: CaptureProgress) => void = () => {};

  /** `owners`: look up the processes holding the flows' local sockets (null: none). */
  constructor(dbPath: string, owners: LiveWriterOwners | null = null) {
    this.worker = new Worker(path.join(__dirname, 'live-writer-worker.js'), {
      workerData: { dbPath, owners },
      resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
    });
    this.worker.on('message', (r: LiveWriterReply) => this.onReply(r));
    this.worker.on('error', (e) => this.failWith(e));
    this.worker.on('exit', () => {
      this.exited = true;
      this.failWith(new Error('database writer stopped'));
    });
  }

  /** Called once, on the first failure (a write, the thread itself). */
  onFailure(fn: (err: Error) => void): void {
    this.onFail = fn;
  }

  /** Called when a progress has been written, in order. */
  onProgress(fn: (p: CaptureProgress) => void): void {
    this.onProgressed = fn;
  }

  private onReply(r: LiveWriterReply): void {
    switch (r.t) {
      case 'progressed':
        if (this.failed === null) this.onProgressed(r.progress);
        return;
      case 'synced': {
        const waiter = this.syncs.get(r.seq);
        this.syncs.delete(r.seq);
        this.flowsWithOwners = r.flowsWithOwners;
        if (this.failed !== null) waiter?.reject(this.failed);
        else waiter?.resolve();
        return;
      }
      case 'failed': {
        const err = new Error(r.message) as Error & { code?: string };
        if (r.code) err.code = r.code;
        this.failWith(err);
        return;
      }
    }
  }

  private failWith(err: Error): void {
    if (this.failed !== null || this.closing) return;
    this.failed = err;
    const waiting = [...this.syncs.values()];
    this.syncs.clear();
    for (const w of waiting) w.reject(err);
    this.onFail(err);
  }

  writeRows(captureId: number, rows: FlowBatch): void {
    if (this.failed !== null || rows.count === 0) return;
    this.post({ t: 'rows', captureId, rows }, [rows.nums.buffer as ArrayBuffer]);
  }

  /** Re-read the socket owners before the rows posted next (a no-op without owners). */
  refreshOwners(captureId: number): void {
    if (this.failed === null) this.post({ t: 'owners', captureId });
  }

  progress(captureId: number, progress: CaptureProgress): void {
    if (this.failed === null) this.post({ t: 'progress', captureId, progress });
  }

  /** Resolves when everything posted before is written; rejects with the failure, if any. */
  idle(): Promise<void> {
    if (this.failed !== null) return Promise.reject(this.failed);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.syncs.set(seq, { resolve, reject });
      this.post({ t: 'sync', seq });
    });
  }

  private closing = false;

  /** Close the thread's connection and end it (after everything posted). */
  close(): Promise<void> {
    this.closing = true;
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.worker.once('exit', () => resolve());
      this.post({ t: 'close' });
    });
  }

  /** End the thread at once (after a failure); what it had not written is lost. */
  terminate(): Promise<void> {
    this.closing = true;
    return this.exited ? Promise.resolve() : this.worker.terminate().then(() => undefined);
  }

  private post(m: LiveWriterRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.exited) this.worker.postMessage(m, transfer);
  }
}
