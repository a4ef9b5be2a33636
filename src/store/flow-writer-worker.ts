/**
 * Worker thread body of WorkerCaptureWriter: owns its own connection to the
 * database and runs the capture's single transaction. Requests arrive in order
 * over the parent port; each flow batch decrements the shared pending counter
 * when written (or dropped after a failure) so the ingest thread can bound how
 * far it runs ahead.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FlowStore } from './flow-store';
import type { WriterReply, WriterRequest, WriterWorkerData } from './writer-protocol';

const data = workerData as WriterWorkerData;
const pending = new Int32Array(data.pending);
const port = parentPort!;
let store: FlowStore | null = null;
let captureId = 0;
let failed = false;

function reply(r: WriterReply): void {
  port.postMessage(r);
}

function fail(err: unknown): void {
  if (!failed) {
    failed = true;
    reply({ t: 'failed', message: err instanceof Error ? err.message : String(err) });
  }
}

try {
  store = FlowStore.open(data.dbPath);
} catch (err) {
  fail(err);
}

port.on('message', (m: WriterRequest) => {
  try {
    switch (m.t) {
      case 'begin':
        if (failed || !store) return;
        store.beginTransaction({ bulk: true });
        captureId = store.beginCapture(m.meta);
        reply({ t: 'begun', captureId });
        return;
      case 'rows':
        try {
          if (!failed && store) store.writeRows(captureId, m.rows, { fresh: true });
        } finally {
          Atomics.sub(pending, 0, 1);
          Atomics.notify(pending, 0);
        }
        return;
      case 'file':
        if (!failed && store) store.addCaptureFile(captureId, m.seq, m.info);
        return;
      case 'finish':
        if (failed || !store) return;
        store.endCapture(captureId, m.summary);
        store.commit();
        reply({ t: 'finished' });
        return;
      case 'abort':
        if (store) store.rollback();
        failed = false;
        reply({ t: 'aborted' });
        return;
    }
  } catch (err) {
    fail(err);
  }
});

port.on('close', () => {
  if (store) {
    store.rollback();
    store.close();
  }
});
