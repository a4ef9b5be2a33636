import type { FlowBatch } from '../tcp/flow-batch';
import type { CaptureFileInfo, CaptureMeta, CaptureSummary, FlowStore } from './flow-store';

/**
 * Writes ONE file capture as one transaction: begin, flows and files in any
 * order, then finish (endCapture + COMMIT) or abort (ROLLBACK). Two
 * implementations: in this thread (InlineCaptureWriter) and in a worker thread
 * (WorkerCaptureWriter, so SQLite work runs on the second core while this
 * thread reads, decodes and tracks TCP).
 */
export interface CaptureWriter {
  /**
   * BEGIN and insert the capture row; resolves to its id. Flows and files
   * may be given before it resolves (they belong to this capture); if it
   * rejects, they are dropped.
   */
  begin(meta: CaptureMeta): Promise<number>;
  /** Queue a batch of flows (fresh: the engine emits each flow once; the batch is handed over, not to be used again). May block briefly when the writer is behind. */
  writeBatch(batch: FlowBatch): void;
  addCaptureFile(seq: number, info: CaptureFileInfo): void;
  /** endCapture + COMMIT; rejects (and rolls back) if any earlier write failed. */
  finish(summary: CaptureSummary): Promise<void>;
  /** ROLLBACK (safe to call at any point, also after a failure). */
  abort(): Promise<void>;
  /** Release resources (the worker). */
  close(): Promise<void>;
}

/** The writer that uses the caller's own connection, in this thread. */
export class InlineCaptureWriter implements CaptureWriter {
  /** 0 until begun (and after a failed begin: nothing is written then). */
  private captureId = 0;
  /** This writer's transaction is open (rolled back by abort; a caller's own transaction never is). */
  private open = false;
  constructor(private readonly store: FlowStore) {}

  async begin(meta: CaptureMeta): Promise<number> {
    this.store.beginTransaction({ bulk: true });
    this.open = true;
    this.captureId = this.store.beginCapture(meta);
    return this.captureId;
  }
  writeBatch(batch: FlowBatch): void {
    if (this.captureId !== 0) this.store.writeRows(this.captureId, batch, { fresh: true });
  }
  addCaptureFile(seq: number, info: CaptureFileInfo): void {
    if (this.captureId !== 0) this.store.addCaptureFile(this.captureId, seq, info);
  }
  async finish(summary: CaptureSummary): Promise<void> {
    this.store.endCapture(this.captureId, summary);
    this.store.commit();
    this.open = false;
  }
  async abort(): Promise<void> {
    if (this.open) this.store.rollback();
    this.open = false;
    this.captureId = 0;
  }
  async close(): Promise<void> {
    // the store belongs to the caller
  }
}
