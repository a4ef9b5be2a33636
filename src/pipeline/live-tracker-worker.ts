/**
 * Worker thread body of LiveTracker (live-tracker.ts): decodes the packets
 * the capture thread queues in the packet ring and tracks them in a
 * TcpEngine, whose finished and snapshot flows are encoded into flow
 * batches posted back to the capture thread (which hands them to the
 * database writer). Commands (a flush's snapshot, the final finish) come on
 * a port read between ring drains, each applied after exactly the packets
 * queued before it was sent.
 */
import { receiveMessageOnPort, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Decoder } from '../decode/decoder';
import { TcpEngine } from '../tcp/tcp-engine';
import { FlowBatchBuilder } from '../tcp/flow-batch';
import { PacketRingReader } from './packet-ring';
import type { TrackerCommand, TrackerCounters, TrackerInit, TrackerReply } from './live-tracker';

const init = workerData as TrackerInit;
const out = parentPort!;
const commands = init.commands as MessagePort;
const ring = new PacketRingReader(init.ring, init.linktype);
const decoder = new Decoder();
const batch = new FlowBatchBuilder();
const engine = new TcpEngine({
  encodeInto: { batch, onEncoded: () => undefined },
  app: init.app,
  ...(init.timeWaitUs !== undefined ? { timeWaitUs: init.timeWaitUs } : {}),
  ...(init.idleTimeoutUs !== undefined ? { idleTimeoutUs: init.idleTimeoutUs } : {}),
});
let tcpPackets = 0;

/** Packets taken per drain before the command port is looked at again. */
const DRAIN_MAX = 4096;
/** Finished flows wait at most this long (ms) before they are posted, while packets keep coming. */
const POST_EVERY_MS = 5;
/** Longest sleep on an empty ring (ms): commands are also looked at this often. */
const IDLE_MS = 20;

function track(p: import('../source/raw-packet').RawPacket): void {
  if (decoder.decode(p)) {
    tcpPackets++;
    engine.packet(decoder.pkt, p.tsUs, p.buf);
  }
}

function counters(): TrackerCounters {
  return { taken: ring.taken, tcpPackets, activeFlows: engine.activeFlows, totalFlows: engine.totalFlows, loss: engine.lossCounts() };
}

function reply(r: TrackerReply): void {
  out.postMessage(r, r.rows ? [r.rows.nums.buffer as ArrayBuffer] : []);
}

/** Take the ring up to the packet the command followed. */
function drainTo(upTo: number): void {
  while (ring.taken < upTo) if (ring.drain(upTo - ring.taken, track) === 0) ring.sleep(1);
}

function handle(c: TrackerCommand): boolean {
  drainTo(c.upTo);
  if (c.t === 'flush') {
    engine.advance(c.nowUs);
    engine.snapshotInto(c.nowUs, { changedOnly: true }, batch);
    reply({ t: 'flushed', seq: c.seq, rows: batch.count > 0 ? batch.take() : null, c: counters(), closeWait: engine.closeWaitEndpoints(), anomalies: decoder.anomalies.toObject() });
    return true;
  }
  // finish: the flows as they stand, then all of them finished.
  engine.advance(c.endUs);
  const closeWait = engine.closeWaitEndpoints();
  engine.finish(c.endUs);
  decoder.finish();
  reply({ t: 'finished', seq: c.seq, rows: batch.count > 0 ? batch.take() : null, c: counters(), closeWait, anomalies: decoder.anomalies.toObject() });
  return false;
}

function run(): void {
  // Change logging starts now, while no flow exists.
  engine.snapshot(init.startedTsUs, { changedOnly: true });
  let lastPost = performance.now();
  for (;;) {
    const n = ring.drain(DRAIN_MAX, track);
    const m = receiveMessageOnPort(commands);
    if (m !== undefined) {
      if (!handle(m.message as TrackerCommand)) return;
      lastPost = performance.now();
      continue;
    }
    if (batch.count > 0 && (n === 0 || performance.now() - lastPost >= POST_EVERY_MS)) {
      reply({ t: 'rows', rows: batch.take(), c: counters() });
      lastPost = performance.now();
    }
    if (n === 0) ring.sleep(IDLE_MS);
  }
}

try {
  run();
} catch (err) {
  reply({ t: 'failed', message: err instanceof Error ? err.message : String(err) });
}
commands.close();
