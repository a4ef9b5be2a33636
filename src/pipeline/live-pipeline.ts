import { FlowStore, type CaptureProgress } from '../store/flow-store';
import { LiveFlowWriter } from '../store/live-flow-writer';
import { F, nextFlow, type FlowBatch } from '../tcp/flow-batch';
import { LiveCapture } from '../source/live-capture';
import { PcapWriter } from '../source/pcap-writer';
import type { RawPacket } from '../source/raw-packet';
import type { LiveProgress } from './live-supervisor';
import { LiveTracker } from './live-tracker';

export interface LivePipelineOptions {
  device: string;
  /** BPF filter, compiled by libpcap ('' = everything). */
  filter: string;
  snaplen: number;
  /** Kernel capture ring size in bytes (default: LiveCapture's). */
  bufferSize?: number;
  /** SQLite database to write flows to (created if needed). */
  dbPath: string;
  /** How often active flows are written and socket owners re-read, ms. */
  flushEveryMs: number;
  /** Stop after this many packets (0 = no limit). */
  count: number;
  /** Stop after this many ms (0 = no limit). */
  durationMs: number;
  /** Also write every captured packet to this pcap file. */
  pcapOut?: string | null;
  /** Map local sockets to processes through /proc (default true). */
  resolveOwners?: boolean;
  /** Where /proc is (tests may point at another namespace's /proc/<pid>/net via ownerNetDir). */
  ownerNetDir?: string;
  /** Read HTTP heads / TLS SNI from the payload (default true). */
  app?: boolean;
  timeWaitUs?: number;
  idleTimeoutUs?: number;
  /** Called at start and after every flush with what is in the database so far. */
  onProgress?: (p: LiveProgress) => void;
  /** Told what each write put into the database, and when a flush is in (an exporter: src/export/live-exporter.ts). */
  flushListener?: FlushListener;
}

/** What the pipeline tells an exporter: flows written (by uid), and that everything up to `tsUs` is in. */
export interface FlushListener {
  noteFlows(uids: Iterable<number>): void;
  flushed(tsUs: number): void;
}

export type StopReason = 'signal' | 'duration' | 'count' | 'requested' | 'error';

/** What the capture looks like now; cheap to call (no snapshot is taken). */
export interface LiveStatus {
  packets: number;
  tcpPackets: number;
  bytes: number;
  activeFlows: number;
  totalFlows: number;
  /** Endpoints in CLOSE_WAIT at the last flush. */
  closeWaitEndpoints: number;
  /** Packets the kernel dropped from the capture ring (libpcap's ps_drop); null when they cannot be read. */
  drops: number | null;
  /** Packets the kernel passed to the capture, dropped ones included (ps_recv); null when unknown. */
  kernelReceived: number | null;
  /** Packets captured but not tracked: the packet ring to the tracker thread was full (live-tracker.ts). */
  trackerDrops: number;
  flowsWritten: number;
  flushes: number;
  /** Capture-loss estimate's counts since the start (TcpEngine.lossCounts). */
  loss: { ackedBytes: number; gapBytes: number };
  /** The same, counted between the last two flushes: the estimate per flush. */
  flushLoss: { ackedBytes: number; gapBytes: number };
}

export interface LiveSummary extends LiveStatus {
  captureId: number;
  device: string;
  linktype: number;
  reason: StopReason;
  startedTsUs: number;
  firstTsUs: number | null;
  /** When the capture stopped (the end of observation). */
  endTsUs: number;
  /** Flows that had a socket owner attached when last written. */
  flowsWithOwners: number;
  pcapPackets: number;
  /** Longest a periodic flush held the event loop (the drop counters, pcap flush and request, or handing its snapshot over), ms. */
  longestFlushMs: number;
  anomalies: Record<string, number>;
}

/** The uids of a batch's flows, in order. */
function batchUids(b: FlowBatch): number[] {
  const out: number[] = [];
  for (let i = 0, p = 0; i < b.count; i++, p = nextFlow(b.nums, p)) out.push(b.nums[p + F.UID]);
  return out;
}

/** Tries at closing the capture row after a failure while the database is locked by another writer. */
const CLOSE_ATTEMPTS = 3;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)) || /database is locked|database table is locked/.test(String((err as Error)?.message));
}

function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * libpcap → RawPacket → packet ring → (tracker thread: Decoder → TcpEngine →
 * flow batches) → writer thread → FlowStore, while the capture runs: this
 * thread only copies packets into the ring (live-tracker.ts); finished flows
 * are written a few ms after the packets that finished them; every
 * `flushEveryMs` the engine's timers are advanced to
 * the wall clock (TIME_WAIT/idle expiry on a silent wire), the active flows
 * that changed since the previous flush are re-written, and once they are
 * in, the capture row's last_ts and counts move to the flush time (so
 * "stuck for" grows in the database while stuck connections are silent, and
 * never runs ahead of the flows written); socket owners are re-read at those flushes
 * only. `stop()` ends it cleanly: last packets, engine.finish, final flush,
 * capture row closed. No printing here; the CLI shows `status()` and the
 * summary.
 */
export class LivePipeline {
  readonly done: Promise<LiveSummary>;
  readonly captureId: number;
  readonly capture: LiveCapture;
  private readonly opts: LivePipelineOptions;
  /** The capture row (begin, end, damage) on this thread. */
  private readonly store: FlowStore;
  /** Flow rows and flush progress, written by a thread of their own (live-flow-writer.ts). */
  private flowWriter: LiveFlowWriter | null = null;
  /** Decoding and tracking, in a thread of its own fed by a packet ring (live-tracker.ts). */
  private tracker: LiveTracker | null = null;
  /** The decoder's anomaly counts as of the tracker's last flush. */
  private anomalies: Record<string, number> = {};
  private readonly writer: PcapWriter | null;
  private readonly startedTsUs: number;
  private firstTsUs: number | null = null;
  private lastTsUs = 0;
  private bytes = 0;
  private packets = 0;
  private closeWait = 0;
  private flowsWritten = 0;
  private flushes = 0;
  /** Capture-loss counts at the previous flush, and between the last two flushes. */
  private lossAtFlush = { ackedBytes: 0, gapBytes: 0 };
  private flushLoss = { ackedBytes: 0, gapBytes: 0 };
  /** Longest time one step of a periodic flush kept the event loop (asking for it, or handing its flows over), ms. */
  private longestFlushMs = 0;
  /** A flush is waiting for the tracker's snapshot (the next one is skipped meanwhile). */
  private flushing = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private durationTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** What the capture row says now (its last_ts and counts): the flows written cover up to there. */
  private recorded: CaptureProgress = { lastTsUs: 0, packets: 0, tcpPackets: 0, bytes: 0, firstTsUs: null };
  /** True once a failure closed the capture row as damaged (see `done`'s rejection). */
  closedAsDamaged = false;
  private resolveDone!: (s: LiveSummary) => void;
  private rejectDone!: (e: unknown) => void;

  private constructor(opts: LivePipelineOptions) {
    this.opts = opts;
    this.done = new Promise<LiveSummary>((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    // Open the capture first: permission/interface/filter errors must not leave a capture row behind.
    const raw = (p: RawPacket) => this.onPacket(p);
    this.capture = LiveCapture.open(
      { device: opts.device, filter: opts.filter, snaplen: opts.snaplen, bufferSize: opts.bufferSize },
      raw,
    );
    try {
      this.writer = opts.pcapOut ? new PcapWriter(opts.pcapOut, this.capture.linktype, this.capture.snaplen) : null;
      this.store = FlowStore.open(opts.dbPath);
    } catch (err) {
      this.capture.close();
      throw err;
    }
    this.startedTsUs = nowUs();
    try {
      this.captureId = this.store.beginCapture({
        source: opts.filter ? `live:${opts.device} ${opts.filter}` : `live:${opts.device}`,
        kind: 'live',
        format: 'libpcap',
        linktypes: [this.capture.linktype],
        sha256: null,
        startedTsUs: this.startedTsUs,
      });
    } catch (err) {
      this.closeAll();
      throw err;
    }
    // Progress first: should the process die meanwhile, its supervisor already knows the capture row and closes it.
    this.recorded = { lastTsUs: this.startedTsUs, packets: 0, tcpPackets: 0, bytes: 0, firstTsUs: null };
    try {
      this.store.updateCaptureProgress(this.captureId, this.recorded);
      this.reportProgress();
      // Socket owners are looked up in the writer thread (walking /proc/*/fd is slow), first now, then at every flush.
      const w = new LiveFlowWriter(opts.dbPath, opts.resolveOwners === false ? null : { netDir: opts.ownerNetDir });
      w.refreshOwners(this.captureId);
      w.onFailure((err) => this.fail(err));
      w.onProgress((p) => this.progressRecorded(p));
      this.flowWriter = w;
      const t = new LiveTracker({
        linktype: this.capture.linktype,
        app: opts.app !== false,
        startedTsUs: this.startedTsUs,
        ...(opts.timeWaitUs !== undefined ? { timeWaitUs: opts.timeWaitUs } : {}),
        ...(opts.idleTimeoutUs !== undefined ? { idleTimeoutUs: opts.idleTimeoutUs } : {}),
      });
      t.onRows((rows) => this.fromTracker(() => this.handOver(rows)));
      t.onFailure((err) => this.fail(err));
      this.tracker = t;
    } catch (err) {
      this.closeDamaged(`live capture on ${this.capture.device} failed to start: ${err instanceof Error ? err.message : String(err)}`);
      this.closeAll();
      throw err;
    }
    this.flushTimer = setInterval(() => this.guard(() => this.flush()), Math.max(50, opts.flushEveryMs));
    if (opts.durationMs > 0) this.durationTimer = setTimeout(() => this.stop('duration'), opts.durationMs);
  }

  /** After a failed start: release the database, the device and the pcap file. */
  private closeAll(): void {
    this.store.close();
    this.capture.close();
    try {
      this.writer?.close();
    } catch {
      // the original error is the one to report
    }
  }

  /** Open the device and the database and start capturing. Throws LiveCaptureError / StoreError. */
  static start(opts: LivePipelineOptions): LivePipeline {
    return new LivePipeline(opts);
  }

  private onPacket(p: RawPacket): void {
    if (this.stopping) return;
    this.packets++;
    this.bytes += p.origlen;
    if (this.firstTsUs === null) this.firstTsUs = p.tsUs;
    this.lastTsUs = p.tsUs;
    if (this.writer) this.writer.write(p);
    this.tracker?.packet(p);
    if (this.opts.count > 0 && this.packets >= this.opts.count) {
      this.capture.close();
      setImmediate(() => this.stop('count'));
    }
  }

  /** Hand flows the tracker encoded to the writer thread. */
  private handOver(rows: FlowBatch | null): void {
    if (rows === null || rows.count === 0) return;
    this.opts.flushListener?.noteFlows(batchUids(rows));
    this.flowWriter?.writeRows(this.captureId, rows);
    this.flowsWritten += rows.count;
  }

  /**
   * Periodic flush: re-read socket owners (in the writer thread, before the
   * flows handed over next), then ask the tracker to advance its timers to
   * now and encode the active flows that changed; once they are handed over,
   * the capture's progress as of the request is recorded.
   */
  private flush(): void {
    // The previous flush's snapshot is still being built (a loaded machine): this one is skipped.
    if (this.flushing || this.tracker === null) return;
    const t0 = performance.now();
    // The packet socket's drop counters, read in a child meanwhile: the status line's next drops.
    this.capture.refreshStats();
    this.flowWriter?.refreshOwners(this.captureId);
    this.writer?.flush();
    // Live timestamps are this host's clock: expire what is due by now even if no packet came.
    const now = this.lastObservedUs();
    const asked = { packets: this.packets, bytes: this.bytes, firstTsUs: this.firstTsUs };
    this.flushing = true;
    this.notePause(performance.now() - t0);
    void this.tracker.flush(now).then((f) =>
      this.fromTracker(() => {
        const t1 = performance.now();
        this.flushing = false;
        this.handOver(f.rows);
        this.closeWait = f.closeWait;
        this.anomalies = f.anomalies;
        const loss = this.tracker!.counters.loss;
        this.flushLoss = { ackedBytes: loss.ackedBytes - this.lossAtFlush.ackedBytes, gapBytes: loss.gapBytes - this.lossAtFlush.gapBytes };
        this.lossAtFlush = loss;
        // Every flow up to the request is handed over: the row's last_ts may say "flows written up to now".
        if (!this.stopping) this.recordProgress({ lastTsUs: now, packets: asked.packets, tcpPackets: this.tracker!.counters.tcpPackets, bytes: asked.bytes, firstTsUs: asked.firstTsUs });
        this.flushes++;
        this.notePause(performance.now() - t1);
      }),
    );
  }

  /** Move the running capture row to `p` once the writer thread has written what was handed to it before. */
  private recordProgress(p: CaptureProgress): void {
    this.flowWriter?.progress(this.captureId, p);
  }

  /** The writer thread wrote progress `p`: tell the exporter and the supervisor (onProgress). */
  private progressRecorded(p: CaptureProgress): void {
    if (this.stopping) return;
    this.recorded = p;
    this.opts.flushListener?.flushed(p.lastTsUs);
    this.reportProgress();
  }

  private notePause(ms: number): void {
    if (ms > this.longestFlushMs) this.longestFlushMs = ms;
  }

  private reportProgress(): void {
    if (!this.opts.onProgress) return;
    this.opts.onProgress({
      captureId: this.captureId,
      dbPath: this.opts.dbPath,
      device: this.capture.device,
      startedTsUs: this.startedTsUs,
      firstTsUs: this.recorded.firstTsUs ?? null,
      flushedTsUs: this.recorded.lastTsUs,
      packets: this.recorded.packets,
      tcpPackets: this.recorded.tcpPackets,
      bytes: this.recorded.bytes,
      flowsWritten: this.flowsWritten,
      anomalies: this.anomalies,
    });
  }

  private lastObservedUs(): number {
    return Math.max(nowUs(), this.lastTsUs);
  }

  status(): LiveStatus {
    const stats = this.capture.stats();
    const c = this.tracker?.counters;
    return {
      packets: this.packets,
      tcpPackets: c?.tcpPackets ?? 0,
      bytes: this.bytes,
      activeFlows: c?.activeFlows ?? 0,
      totalFlows: c?.totalFlows ?? 0,
      closeWaitEndpoints: this.closeWait,
      drops: stats.dropped,
      kernelReceived: stats.received,
      trackerDrops: this.tracker?.droppedPackets ?? 0,
      flowsWritten: this.flowsWritten,
      flushes: this.flushes,
      loss: c?.loss ?? { ackedBytes: 0, gapBytes: 0 },
      flushLoss: this.flushLoss,
    };
  }

  private guard(fn: () => void): void {
    if (this.stopping) return;
    try {
      fn();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * What the tracker sends, also while stopping (flows it finished before
   * the final ones must still be written); not after a failure.
   */
  private fromTracker(fn: () => void): void {
    if (this.failed) return;
    try {
      fn();
    } catch (err) {
      this.stopping = false;
      this.fail(err);
    }
  }

  private failed = false;

  private fail(err: unknown): void {
    if (this.stopping) return;
    this.stopping = true;
    this.failed = true;
    this.clearTimers();
    this.capture.close();
    try {
      this.writer?.close();
    } catch {
      // the original error is the one to report
    }
    const message = err instanceof Error ? err.message : String(err);
    void this.tracker?.terminate();
    // The writer thread stops first: the row is closed as of the last progress it wrote.
    void (this.flowWriter?.terminate() ?? Promise.resolve()).then(() => {
      this.closedAsDamaged = this.closeDamaged(`live capture on ${this.capture.device} failed: ${message}`);
      this.store.close();
      this.rejectDone(err);
    });
  }

  /**
   * Best effort after a failure: close the capture row as damaged, as of
   * the last recorded progress (the flows written cover up to there). A
   * database another writer holds locked is tried a few times (each try
   * waits the store's busy timeout); any other error gives up at once and
   * leaves the row to the supervisor.
   */
  private closeDamaged(damage: string): boolean {
    const p = this.recorded;
    for (let attempt = 1; ; attempt++) {
      try {
        return this.store.endCapture(this.captureId, {
          firstTsUs: p.firstTsUs ?? this.startedTsUs,
          lastTsUs: p.lastTsUs,
          packets: p.packets,
          tcpPackets: p.tcpPackets,
          bytes: p.bytes,
          anomalies: this.anomalies,
          truncated: true,
          damage,
          drops: null,
        });
      } catch (err) {
        if (attempt >= CLOSE_ATTEMPTS || !isBusy(err)) return false;
      }
    }
  }

  private clearTimers(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.durationTimer) clearTimeout(this.durationTimer);
    this.flushTimer = null;
    this.durationTimer = null;
  }

  /**
   * Stop: no more packets, the engine finishes every flow, a final flush with
   * fresh socket owners, the capture row closed. Idempotent; resolves `done`.
   */
  stop(reason: StopReason = 'requested'): void {
    if (this.stopping) return;
    this.stopping = true;
    this.clearTimers();
    this.capture.close();
    this.reason = reason;
    // The drop counters' reads still in flight are the last part of the final count.
    void this.capture
      .statsSettled()
      .then(() => this.finalize())
      .catch((err: unknown) => {
        this.stopping = false;
        this.fail(err);
      });
  }

  private reason: StopReason = 'requested';

  private async finalize(): Promise<void> {
    const endUs = this.lastObservedUs();
    const drops = this.capture.stats().dropped; // final: read at close, every read back
    // Owners while the sockets are still there, then every flow as it is now, finished
    // (fragmented datagrams never completed count as fragment_reassembly_timeout).
    this.flowWriter?.refreshOwners(this.captureId);
    const tracker = this.tracker as LiveTracker;
    const f = await tracker.finish(endUs);
    this.handOver(f.rows);
    this.closeWait = f.closeWait;
    this.anomalies = f.anomalies;
    this.writer?.close();
    // Every flow row in before the row is closed (and its flow count taken).
    await this.flowWriter?.idle();
    await this.flowWriter?.close();
    const anomalies = this.anomalies;
    this.store.endCapture(this.captureId, {
      firstTsUs: this.firstTsUs ?? this.startedTsUs,
      lastTsUs: endUs,
      packets: this.packets,
      tcpPackets: tracker.counters.tcpPackets,
      bytes: this.bytes,
      anomalies,
      truncated: false,
      drops,
      loss: tracker.counters.loss,
    });
    this.store.close();
    this.flushes++;
    this.resolveDone({
      ...this.status(),
      drops,
      captureId: this.captureId,
      device: this.capture.device,
      linktype: this.capture.linktype,
      reason: this.reason,
      startedTsUs: this.startedTsUs,
      firstTsUs: this.firstTsUs,
      endTsUs: endUs,
      flowsWithOwners: this.flowWriter?.flowsWithOwners ?? 0,
      pcapPackets: this.writer ? this.writer.packets : 0,
      longestFlushMs: this.longestFlushMs,
      anomalies,
    });
  }
}
