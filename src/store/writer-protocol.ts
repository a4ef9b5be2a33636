import type { CaptureFileInfo, CaptureMeta, CaptureSummary } from './flow-store';
import type { FlowBatch } from '../tcp/flow-batch';

/** Messages from the ingest thread to the writer worker, handled strictly in order. */
export type WriterRequest =
  | { t: 'begin'; meta: CaptureMeta }
  /** rows.nums is transferred, not copied. */
  | { t: 'rows'; rows: FlowBatch }
  | { t: 'file'; seq: number; info: CaptureFileInfo }
  | { t: 'finish'; summary: CaptureSummary }
  | { t: 'abort' };

/** Replies from the worker. `failed` is sent once, on the first error; later requests are ignored until abort. */
export type WriterReply =
  | { t: 'begun'; captureId: number }
  | { t: 'finished' }
  | { t: 'aborted' }
  | { t: 'failed'; message: string };

export interface WriterWorkerData {
  dbPath: string;
  /** Int32Array over a SharedArrayBuffer: [0] = flow batches posted but not yet written. */
  pending: SharedArrayBuffer;
}
