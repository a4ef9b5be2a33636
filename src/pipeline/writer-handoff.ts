import type { CaptureWriter } from '../store/capture-writer';
import { InlineCaptureWriter } from '../store/capture-writer';
import type { CaptureMeta, FlowStore } from '../store/flow-store';
import { WorkerCaptureWriter } from '../store/worker-capture-writer';
import { IngestAborted } from './ingest-types';

/**
 * Stage 5 of a file ingest, started first: the writer that turns the
 * tracker's batches into one transaction (in this thread, or in a worker
 * thread with its own connection), and what stops the read: the caller's
 * abort (Ctrl-C), or the writer failing to begin (say the database stays
 * locked). `begun` is not awaited before reading: a worker writer opens the
 * database while this thread starts reading.
 */
export class WriterHandoff {
  readonly writer: CaptureWriter;
  /** Resolves to the capture id once the writer has begun. */
  readonly begun: Promise<number>;
  private readonly stop = new AbortController();
  private beginError: unknown = null;
  private readonly onAbort = () => this.stop.abort();

  constructor(
    store: FlowStore,
    kind: 'inline' | 'worker' | undefined,
    meta: CaptureMeta,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.writer = kind === 'worker' ? WorkerCaptureWriter.spawn(store.file) : new InlineCaptureWriter(store);
    if (callerSignal?.aborted) this.stop.abort();
    else callerSignal?.addEventListener('abort', this.onAbort, { once: true });
    this.begun = this.writer.begin(meta);
    this.begun.catch((err: unknown) => {
      this.beginError = err;
      this.stop.abort();
    });
  }

  /** Aborted when the read must stop. */
  get signal(): AbortSignal {
    return this.stop.signal;
  }

  /** Throws what stopped the read (the writer's begin error, or IngestAborted), if anything did. */
  readonly checkStopped = (): void => {
    if (this.beginError !== null) throw this.beginError;
    if (this.callerSignal?.aborted) throw new IngestAborted();
  };

  /** Stops listening to the caller's signal and releases the writer. */
  async close(): Promise<void> {
    this.callerSignal?.removeEventListener('abort', this.onAbort);
    await this.writer.close();
  }
}
