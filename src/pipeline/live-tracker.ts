import path from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { FlowBatch } from '../tcp/flow-batch';
import type { RawPacket } from '../source/raw-packet';
import { DEFAULT_RING_BYTES, makePacketRing, PacketRingWriter } from './packet-ring';

/** What the tracker thread starts with. */
export interface TrackerInit {
  ring: SharedArrayBuffer;
  commands: MessagePort;
  linktype: number;
  app: boolean;
  timeWaitUs?: number;
  idleTimeoutUs?: number;
  startedTsUs: number;
}

/** Commands, each applied after the `upTo` first packets queued. */
export type TrackerCommand =
  /** Advance the timers to nowUs and encode the flows that changed since the last flush. */
  | { t: 'flush'; seq: number; upTo: number; nowUs: number }
  /** Advance to endUs, then finish every flow; the thread ends after its reply. */
  | { t: 'finish'; seq: number; upTo: number; endUs: number };

/** The engine's counts as of a reply. */
export interface TrackerCounters {
  /** Packets taken from the ring. */
  taken: number;
  tcpPackets: number;
  activeFlows: number;
  totalFlows: number;
  loss: { ackedBytes: number; gapBytes: number };
}

export type TrackerReply =
  /** Flows that finished (rows.nums transferred). */
  | { t: 'rows'; rows: FlowBatch; c: TrackerCounters }
  | { t: 'flushed' | 'finished'; seq: number; rows: FlowBatch | null; c: TrackerCounters; closeWait: number; anomalies: Record<string, number> }
  | { t: 'failed'; message: string; rows?: undefined };

export interface TrackerOptions {
  linktype: number;
  app: boolean;
  timeWaitUs?: number;
  idleTimeoutUs?: number;
  startedTsUs: number;
  /** Records area of the packet ring, bytes (default DEFAULT_RING_BYTES). */
  ringBytes?: number;
}

/** What a flush or the finish answered. */
export interface TrackerFlushed {
  rows: FlowBatch | null;
  closeWait: number;
  anomalies: Record<string, number>;
}

/**
 * Decoding and TCP tracking of a live capture, in a thread of its own, so
 * that the thread libpcap's callback runs on only copies each packet into a
 * shared ring (packet-ring.ts): measured on this project's 2-core machine,
 * decode and engine in the callback were what let the kernel's ring
 * overflow at 100k packets/s. Finished flows come back as flow batches
 * (onRows) a few ms after they finish; flush() and finish() answer with the
 * flows of a snapshot, in the order of everything posted before.
 */
export class LiveTracker {
  private readonly worker: Worker;
  private readonly ring: PacketRingWriter;
  private readonly port: MessagePort;
  private seq = 0;
  private readonly waiting = new Map<number, (f: TrackerFlushed) => void>();
  private failed = false;
  /** The engine's counts as of the last reply. */
  counters: TrackerCounters = { taken: 0, tcpPackets: 0, activeFlows: 0, totalFlows: 0, loss: { ackedBytes: 0, gapBytes: 0 } };
  private onRowsFn: (rows: FlowBatch) => void = () => {};
  private onFailFn: (err: Error) => void = () => {};

  constructor(o: TrackerOptions) {
    const sab = makePacketRing(o.ringBytes ?? DEFAULT_RING_BYTES);
    this.ring = new PacketRingWriter(sab);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: TrackerInit = { ring: sab, commands: port2, linktype: o.linktype, app: o.app, startedTsUs: o.startedTsUs };
    if (o.timeWaitUs !== undefined) init.timeWaitUs = o.timeWaitUs;
    if (o.idleTimeoutUs !== undefined) init.idleTimeoutUs = o.idleTimeoutUs;
    this.worker = new Worker(path.join(__dirname, 'live-tracker-worker.js'), { workerData: init, transferList: [port2] });
    this.worker.on('message', (r: TrackerReply) => this.onReply(r));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', () => {
      if (this.waiting.size > 0) this.fail(new Error('packet tracker stopped'));
    });
  }

  /** Called with each batch of finished flows, in order. */
  onRows(fn: (rows: FlowBatch) => void): void {
    this.onRowsFn = fn;
  }

  /** Called once, on the first failure. */
  onFailure(fn: (err: Error) => void): void {
    this.onFailFn = fn;
  }

  /** Queue a copy of the packet (the packet is only borrowed); false when the ring was full and it was dropped. */
  packet(p: RawPacket): boolean {
    return this.ring.push(p);
  }

  /** Packets the ring had no room for. */
  get droppedPackets(): number {
    return this.ring.droppedPackets;
  }

  /** The flows that changed, after every packet queued so far and with the timers at nowUs. */
  flush(nowUs: number): Promise<TrackerFlushed> {
    return this.command({ t: 'flush', seq: ++this.seq, upTo: this.ring.queued, nowUs });
  }

  /** Every flow finished at endUs (the thread ends then). */
  finish(endUs: number): Promise<TrackerFlushed> {
    return this.command({ t: 'finish', seq: ++this.seq, upTo: this.ring.queued, endUs });
  }

  /** End the thread at once. */
  terminate(): Promise<void> {
    this.failed = true;
    return this.worker.terminate().then(() => undefined);
  }

  private command(c: TrackerCommand): Promise<TrackerFlushed> {
    if (this.failed) return Promise.reject(new Error('packet tracker stopped'));
    return new Promise((resolve) => {
      this.waiting.set(c.seq, resolve);
      this.port.postMessage(c);
      this.ring.wake();
    });
  }

  private onReply(r: TrackerReply): void {
    if (this.failed) return;
    if (r.t === 'failed') {
      this.fail(new Error(r.message));
      return;
    }
    this.counters = r.c;
    if (r.t === 'rows') {
      this.onRowsFn(r.rows);
      return;
    }
    const done = this.waiting.get(r.seq);
    this.waiting.delete(r.seq);
    done?.({ rows: r.rows, closeWait: r.closeWait, anomalies: r.anomalies });
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.waiting.clear();
    this.onFailFn(err);
  }
}
