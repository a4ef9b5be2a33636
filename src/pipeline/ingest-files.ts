import { isSupportedLinktype } from '../decode/linktypes';
import type { FlowStore } from '../store/flow-store';
import { dedupeInputs } from './dedupe-inputs';
import { IngestAborted, type IngestFileResult, type IngestOptions, type IngestResult } from './ingest-types';
import { orderInputs } from './order-inputs';
import { PacketTracker } from './packet-tracker';
import { readInputs } from './read-inputs';
import { WriterHandoff } from './writer-handoff';

export * from './ingest-types';

/**
 * File ingest: readCapture → Decoder → TcpEngine → FlowStore, for one or more
 * files read as ONE continuous capture in order of their first packet (rotated
 * tcpdump -C/-G files: a connection spanning two files is one flow).
 *
 * All or nothing: the whole ingest is one transaction, so an interruption
 * (abort signal, crash, kill) leaves the database as it was. Idempotent: a
 * file whose content (sha256) is already in the database is skipped.
 *
 * The stages, each in its own file: dedupeInputs (stat, hash, leave out
 * duplicates and unusable inputs), orderInputs (by first packet time),
 * WriterHandoff (the writer, begun while reading starts), PacketTracker
 * (decode + TCP engine, finished flows in batches) and readInputs (every
 * input through the tracker); then the engine's end of input and the commit.
 */
export async function ingestFiles(store: FlowStore, paths: readonly string[], opts: IngestOptions = {}): Promise<IngestResult> {
  const started = Date.now();
  const clock = opts.stageTimes ? new StageClock() : null;
  if (paths.length === 0) throw new Error('no input files');
  if (paths.includes('-') && paths.length > 1) throw new Error("'-' (standard input) must be the only input");

  // Content hashes (idempotency) and first packet times (order), before any write.
  const { inputs, skipped } = await dedupeInputs(store, paths, opts.signal);
  const planned = await orderInputs(inputs, skipped, paths.length > 1, opts.signal);
  // Left-out inputs are reported in command-line order, before those read.
  const results: IngestFileResult[] = skipped.sort((a, b) => a.order - b.order).map((s) => s.result);
  if (opts.stageTimes) opts.stageTimes.planMs = clock!.lap();

  const out: IngestResult = {
    captureId: null,
    files: results,
    packets: 0,
    tcpPackets: 0,
    bytes: 0,
    flows: 0,
    firstTsUs: null,
    lastTsUs: null,
    truncated: false,
    anomalies: {},
    warnings: [],
    elapsedMs: 0,
    loss: { ackedBytes: 0, gapBytes: 0 },
    skipped: { linktype: 0, linktypes: [], nonIp: 0, nonTcp: 0, malformed: 0, fragments: 0 },
  };
  if (planned.length === 0) {
    out.elapsedMs = Date.now() - started;
    return out;
  }

  if (opts.signal?.aborted) throw new IngestAborted();
  // One transaction for everything.
  const handoff = new WriterHandoff(
    store,
    opts.writer,
    {
      source: planned.map((p) => p.path).join(', '),
      kind: 'file',
      sha256: planned.length === 1 ? planned[0].sha256 : null,
      startedTsUs: planned[0].firstTsUs,
    },
    opts.signal,
  );
  const { writer } = handoff;
  const tracker = new PacketTracker({
    onBatch: (b) => writer.writeBatch(b),
    batchSize: opts.batchSize,
    timeWaitUs: opts.timeWaitUs,
    idleTimeoutUs: opts.idleTimeoutUs,
    app: opts.app,
  });
  try {
    const read = await readInputs(planned, {
      store,
      writer,
      tracker,
      signal: handoff.signal,
      checkStopped: handoff.checkStopped,
      onProgress: opts.onProgress,
      results,
    });
    if ('duplicate' in read) {
      await writer.abort();
      results.push(read.duplicate);
      out.elapsedMs = Date.now() - started;
      return out;
    }
    out.warnings = read.warnings;
    out.bytes = read.bytes;
    out.firstTsUs = read.firstTsUs;
    out.lastTsUs = read.lastTsUs;
    if (read.filesRead === 0) {
      // Nothing readable: no capture row.
      await writer.abort();
      out.elapsedMs = Date.now() - started;
      return out;
    }
    if (opts.stageTimes) opts.stageTimes.readMs = clock!.lap();
    tracker.finish(out.lastTsUs ?? 0);
    if (opts.stageTimes) opts.stageTimes.finishMs = clock!.lap();
    const { decoder, engine } = tracker;
    out.packets = decoder.packets;
    out.tcpPackets = decoder.tcpPackets;
    out.flows = engine.totalFlows;
    out.loss = engine.lossCounts();
    out.skipped = {
      linktype: decoder.skippedLinktype,
      linktypes: [...read.linktypes].filter((l) => !isSupportedLinktype(l)),
      nonIp: decoder.nonIp,
      nonTcp: decoder.nonTcp,
      malformed: decoder.malformed,
      fragments: decoder.fragments,
    };
    out.truncated = read.damage.length > 0;
    out.anomalies = { ...decoder.anomalies.toObject(), ...read.sourceAnomalies };
    if (read.overlaps > 0) out.anomalies.files_overlap_in_time = read.overlaps;
    handoff.checkStopped();
    const captureId = await handoff.begun;
    for (const f of read.ingested) f.captureId = captureId;
    await writer.finish({
      firstTsUs: out.firstTsUs,
      lastTsUs: out.lastTsUs,
      packets: out.packets,
      tcpPackets: out.tcpPackets,
      bytes: out.bytes,
      anomalies: out.anomalies,
      truncated: out.truncated,
      loss: out.loss,
      damage: read.damage.length > 0 ? read.damage.join('; ') : null,
      format: [...read.formats].join(','),
      linktypes: [...read.linktypes],
      sha256: read.lateSha,
    });
    if (opts.stageTimes) opts.stageTimes.commitMs = clock!.lap();
    out.captureId = captureId;
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  } finally {
    await handoff.close();
  }
  // Files are reported in the order they were read, then skipped ones.
  out.files.sort((a, b) => rank(a) - rank(b));
  out.elapsedMs = Date.now() - started;
  return out;
}

/** Milliseconds since the previous lap. */
class StageClock {
  private last = performance.now();
  lap(): number {
    const now = performance.now();
    const ms = now - this.last;
    this.last = now;
    return ms;
  }
}

function rank(f: IngestFileResult): number {
  return f.status === 'ingested' ? 0 : f.status === 'duplicate' ? 1 : 2;
}
