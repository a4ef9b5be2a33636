import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CaptureWriter } from './capture-writer';
import type { FlowBatch } from '../tcp/flow-batch';
import type { CaptureFileInfo, CaptureMeta, CaptureSummary } from './flow-store';
import { StoreError } from './store-error';
import type { WriterReply, WriterRequest, WriterWorkerData } from './writer-protocol';

/** Young-generation limit of the writer thread's heap (MB). */
const WRITER_YOUNG_GENERATION_MB = 4;

/** Flow batches allowed in flight before writeBatch waits for the worker (bounds memory). */
const MAX_PENDING = 4;

/**
 * Runs the capture's transaction in a worker thread with its own connection,
 * so that SQLite work overlaps reading, decoding and TCP tracking. Flow
 * batches (flow-batch.ts: one Float64Array, transferred, and one string) cost
 * little to hand over; when MAX_PENDING batches are not yet
 * written, writeBatch blocks on a shared counter (Atomics.wait) until the
 * worker catches up. A failure in the worker is reported by the next awaited
 * call (finish / begin), and everything is rolled back.
 */
export class WorkerCaptureWriter implements CaptureWriter {
  private readonly worker: Worker;
  private readonly pending: Int32Array;
  private failure: string | null = null;
  private waiters: { want: WriterReply['t']; resolve: (r: WriterReply) => void; reject: (e: Error) => void }[] = [];
  private exited = false;

  private constructor(dbPath: string) {
    const sab = new SharedArrayBuffer(4);
    this.pending = new Int32Array(sab);
    const data: WriterWorkerData = { dbPath, pending: sab };
    // A small young generation: what the writer allocates (values to bind, timeline text) dies at
    // once, and V8 otherwise grows it with the run, which made peak RSS grow with the file (+30 MB at 4x).
    this.worker = new Worker(path.join(__dirname, 'flow-writer-worker.js'), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
    });
    this.worker.on('message', (r: WriterReply) => this.onReply(r));
    this.worker.on('error', (e) => this.onFailure(e.message));
    this.worker.on('exit', () => {
      this.exited = true;
      this.onFailure('database writer stopped');
    });
  }

  /**
   * Start the worker. It opens the database while the caller goes on;
   * requests are queued until then, and a failure to open rejects begin().
   */
  static spawn(dbPath: string): WorkerCaptureWriter {
    return new WorkerCaptureWriter(dbPath);
  }

  private onReply(r: WriterReply): void {
    if (r.t === 'failed') {
      this.onFailure(r.message);
      return;
    }
    const i = this.waiters.findIndex((w) => w.want === r.t);
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(r);
  }

  private onFailure(message: string): void {
    if (this.failure === null) this.failure = message;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) if (w.want !== 'aborted' || this.exited) w.reject(new Error(this.failure));
    // An abort still gets its 'aborted' reply from a live worker.
    this.waiters.push(...ws.filter((w) => w.want === 'aborted' && !this.exited));
  }

  private expect(want: WriterReply['t']): Promise<WriterReply> {
    if (this.failure !== null && want !== 'aborted') return Promise.reject(new Error(this.failure));
    if (this.exited) return Promise.reject(new Error(this.failure ?? 'database writer stopped'));
    return new Promise((resolve, reject) => this.waiters.push({ want, resolve, reject }));
  }

  private post(m: WriterRequest): void {
    if (!this.exited) this.worker.postMessage(m);
  }

  async begin(meta: CaptureMeta): Promise<number> {
    const p = this.expect('begun');
    this.post({ t: 'begin', meta });
    try {
      return ((await p) as { captureId: number }).captureId;
    } catch (err) {
      throw new StoreError('sqlite', (err as Error).message);
    }
  }

  writeBatch(rows: FlowBatch): void {
    if (this.failure !== null || this.exited) return; // reported by finish()
    // Wait (blocking this thread) while the worker is MAX_PENDING batches behind.
    for (;;) {
      const n = Atomics.load(this.pending, 0);
      if (n < MAX_PENDING) break;
      Atomics.wait(this.pending, 0, n, 1000);
      if (this.exited) return;
    }
    Atomics.add(this.pending, 0, 1);
    if (!this.exited) this.worker.postMessage({ t: 'rows', rows } satisfies WriterRequest, [rows.nums.buffer as ArrayBuffer]);
  }

  addCaptureFile(seq: number, info: CaptureFileInfo): void {
    this.post({ t: 'file', seq, info });
  }

  async finish(summary: CaptureSummary): Promise<void> {
    const p = this.expect('finished');
    this.post({ t: 'finish', summary });
    await p;
  }

  async abort(): Promise<void> {
    if (this.exited) return;
    const p = this.expect('aborted');
    this.post({ t: 'abort' });
    await p;
  }

  async close(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}
