/**
 * Worker thread body of LiveFlowWriter: its own connection to the live
 * capture's database; flow batches and capture progress are written in the
 * order they arrive, each in a transaction of its own. After the first
 * failure it writes nothing more (but still answers syncs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FlowStore } from './flow-store';
import type { LiveWriterOwners, LiveWriterReply, LiveWriterRequest } from './live-flow-writer';
import { BatchOwners } from '../host/batch-owners';

const port = parentPort!;
let store: FlowStore | null = null;
let failed = false;
const data = workerData as { dbPath: string; owners: LiveWriterOwners | null };
/** The processes holding the flows' local sockets, put into each batch before it is written. */
const owners = data.owners !== null ? new BatchOwners({ netDir: data.owners.netDir }) : null;

function reply(r: LiveWriterReply): void {
  port.postMessage(r);
}

function fail(err: unknown): void {
  if (failed) return;
  failed = true;
  const code = (err as { code?: unknown } | null)?.code;
  reply({ t: 'failed', message: err instanceof Error ? err.message : String(err), ...(typeof code === 'string' ? { code } : {}) });
}

try {
  store = FlowStore.open(data.dbPath);
} catch (err) {
  fail(err);
}

port.on('message', (m: LiveWriterRequest) => {
  try {
    switch (m.t) {
      case 'rows':
        if (!failed && store) store.writeRows(m.captureId, owners !== null ? owners.attach(m.rows) : m.rows);
        return;
      case 'owners': {
        if (failed || !store || owners === null) return;
        const again = owners.refresh();
        if (again !== null) store.writeRows(m.captureId, again);
        return;
      }
      case 'progress':
        if (failed || !store) return;
        store.updateCaptureProgress(m.captureId, m.progress);
        reply({ t: 'progressed', progress: m.progress });
        return;
      case 'sync':
        reply({ t: 'synced', seq: m.seq, flowsWithOwners: owners !== null ? owners.flowsWithOwners : 0 });
        return;
      case 'close':
        store?.close();
        store = null;
        port.close();
        return;
    }
  } catch (err) {
    fail(err);
  }
});
