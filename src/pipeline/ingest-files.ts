import fs from 'node:fs';
import { Decoder } from '../decode/decoder';
import { readCapture, type ReadResult } from '../source/read-capture';
import { CaptureError } from '../source/capture-error';
import { TcpEngine } from '../tcp/tcp-engine';
import { FlowBatchBuilder } from '../tcp/flow-batch';
import type { FlowStore } from '../store/flow-store';
import { InlineCaptureWriter, type CaptureWriter } from '../store/capture-writer';
import { WorkerCaptureWriter } from '../store/worker-capture-writer';
import { fileSha256 } from './file-digest';
import { firstPacketTime } from './first-packet-time';

/**
 * File ingest: readCapture → Decoder → TcpEngine → FlowStore, for one or more
 * files read as ONE continuous capture in order of their first packet (rotated
 * tcpdump -C/-G files: a connection spanning two files is one flow).
 *
 * All or nothing: the whole ingest is one transaction, so an interruption
 * (abort signal, crash, kill) leaves the database as it was. Idempotent: a
 * file whose content (sha256) is already in the database is skipped.
 */

export interface IngestProgress {
  file: string;
  fileIndex: number;
  fileCount: number;
  /** Raw bytes of the current file read so far, and its size when known. */
  bytesRead: number;
  totalBytes: number | null;
  /** Raw bytes of the files finished before this one. */
  bytesBefore: number;
  packets: number;
  flows: number;
}

export interface IngestOptions {
  onProgress?: (p: IngestProgress) => void;
  /** Aborting rolls the whole ingest back (Ctrl-C). */
  signal?: AbortSignal;
  /** Flows per batch handed to the writer (default 500: smaller batches use less memory at the same speed). */
  batchSize?: number;
  timeWaitUs?: number;
  idleTimeoutUs?: number;
  /**
   * Where the SQLite writes run: 'inline' (this thread, the caller's
   * connection; default) or 'worker' (a worker thread with its own connection
   * to the same file, overlapping writes with reading and decoding).
   */
  writer?: 'inline' | 'worker';
}

export type FileStatus = 'ingested' | 'duplicate' | 'unusable';

export interface IngestFileResult {
  path: string;
  status: FileStatus;
  sha256: string | null;
  /** The capture that holds it: this ingest's, or (duplicate) the earlier one. */
  captureId: number | null;
  packets: number;
  firstTsUs: number | null;
  lastTsUs: number | null;
  /** One line naming the file and the offset (damage or why it is unusable). */
  message: string | null;
  /** True when the damage stopped the read before the end of the file (or the file was unusable). */
  fatal: boolean;
}

export interface IngestResult {
  /** The new capture, or null when nothing new was ingested. */
  captureId: number | null;
  files: IngestFileResult[];
  packets: number;
  tcpPackets: number;
  bytes: number;
  flows: number;
  firstTsUs: number | null;
  lastTsUs: number | null;
  truncated: boolean;
  anomalies: Record<string, number>;
  /** One line each: inputs that overlap in time (read one after another, not merged). */
  warnings: string[];
  elapsedMs: number;
}

export class IngestAborted extends Error {
  constructor() {
    super('ingest interrupted: the database is unchanged');
    this.name = 'IngestAborted';
  }
}

interface Planned {
  path: string;
  sha256: string | null;
  firstTsUs: number | null;
  size: number | null;
  order: number;
}

function formatOf(r: ReadResult): string {
  return r.info.gzip ? `${r.info.format}+gzip` : r.info.format;
}

export async function ingestFiles(store: FlowStore, paths: readonly string[], opts: IngestOptions = {}): Promise<IngestResult> {
  const started = Date.now();
  if (paths.length === 0) throw new Error('no input files');
  if (paths.includes('-') && paths.length > 1) throw new Error("'-' (standard input) must be the only input");

  const results: IngestFileResult[] = [];
  const planned: Planned[] = [];
  const seen = new Map<string, string>();
  // 1. Content hashes (idempotency) and first packet times (order), before any write.
  for (let i = 0; i < paths.length; i++) {
    if (opts.signal?.aborted) throw new IngestAborted();
    const p = paths[i];
    if (p === '-') {
      planned.push({ path: p, sha256: null, firstTsUs: null, size: null, order: i });
      continue;
    }
    let sha: string | null = null;
    let size: number | null = null;
    try {
      size = fs.statSync(p).size;
      // A single file that no stored file can equal (no stored file of its size) is hashed while it is
      // read (readCapture hashes in a worker thread), not in a pass of its own before; a duplicate is
      // then still caught after the read, and the ingest rolled back.
      if (paths.length > 1 || store.mayHoldFileOfSize(size)) sha = await fileSha256(p, opts.signal);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
      results.push(unusable(p, null, `${p}: ${why} at byte 0`));
      continue;
    }
    if (opts.signal?.aborted) throw new IngestAborted();
    if (sha === null) {
      planned.push({ path: p, sha256: null, firstTsUs: null, size, order: i });
      continue;
    }
    const stored = store.findFile(sha);
    if (stored) {
      results.push({ path: p, status: 'duplicate', sha256: sha, captureId: stored.captureId, packets: 0, firstTsUs: null, lastTsUs: null, message: `${p}: already ingested as capture ${stored.captureId} (${stored.path})`, fatal: false });
      continue;
    }
    const twin = seen.get(sha);
    if (twin !== undefined) {
      results.push({ path: p, status: 'duplicate', sha256: sha, captureId: null, packets: 0, firstTsUs: null, lastTsUs: null, message: `${p}: same content as ${twin}, read once`, fatal: false });
      continue;
    }
    seen.set(sha, p);
    let first: number | null = null;
    if (paths.length > 1) {
      try {
        first = await firstPacketTime(p);
      } catch (err) {
        if (err instanceof CaptureError) {
          results.push(unusable(p, sha, err.message));
          continue;
        }
        throw err;
      }
    }
    planned.push({ path: p, sha256: sha, firstTsUs: first, size, order: i });
  }
  planned.sort((a, b) => (a.firstTsUs ?? Infinity) - (b.firstTsUs ?? Infinity) || a.order - b.order);

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
  };
  if (planned.length === 0) {
    out.elapsedMs = Date.now() - started;
    return out;
  }

  if (opts.signal?.aborted) throw new IngestAborted();
  // 2. One transaction for everything.
  const decoder = new Decoder();
  const batchSize = opts.batchSize ?? 500;
  const batch = new FlowBatchBuilder();
  const writer: CaptureWriter = opts.writer === 'worker' ? WorkerCaptureWriter.spawn(store.file) : new InlineCaptureWriter(store);
  /** Stops the read: the caller's abort (Ctrl-C), or the writer failing to begin. */
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (opts.signal?.aborted) stop.abort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  let beginError: unknown = null;
  const checkStopped = () => {
    if (beginError !== null) throw beginError;
    if (opts.signal?.aborted) throw new IngestAborted();
  };
  /** This ingest's results for files read: they get the capture id once the writer has given it. */
  const ingested: IngestFileResult[] = [];
  const flush = () => {
    if (batch.count > 0) writer.writeBatch(batch.take());
  };
  const engine = new TcpEngine({
    encodeInto: {
      batch,
      onEncoded: () => {
        if (batch.count >= batchSize) flush();
      },
    },
    ...(opts.timeWaitUs !== undefined ? { timeWaitUs: opts.timeWaitUs } : {}),
    ...(opts.idleTimeoutUs !== undefined ? { idleTimeoutUs: opts.idleTimeoutUs } : {}),
  });
  const onPacket = (p: Parameters<Parameters<typeof readCapture>[1]>[0]) => {
    if (decoder.decode(p)) engine.packet(decoder.pkt, p.tsUs);
  };

  try {
    // Not awaited here: a worker writer opens the database while this thread starts reading.
    // If it cannot begin (say the database stays locked), reading stops at once.
    const begun = writer.begin({
      source: planned.map((p) => p.path).join(', '),
      kind: 'file',
      sha256: planned.length === 1 ? planned[0].sha256 : null,
      startedTsUs: planned[0].firstTsUs,
    });
    begun.catch((err: unknown) => {
      beginError = err;
      stop.abort();
    });
    const formats = new Set<string>();
    const linktypes = new Set<number>();
    const damage: string[] = [];
    let bytesBefore = 0;
    let seq = 0;
    /** The latest last-packet time among the files read so far, and whose it is. */
    let prevLast: { path: string; tsUs: number } | null = null;
    /** sha256 of an input hashed while read (only ever the sole input). */
    let lateSha: string | null = null;
    for (let i = 0; i < planned.length; i++) {
      const pl = planned[i];
      const packetsBefore = decoder.packets;
      let r: ReadResult;
      try {
        r = await readCapture(pl.path, onPacket, {
          signal: stop.signal,
          // Files hashed up front are not hashed again; standard input and a lone file are hashed while read.
          hash: pl.sha256 === null,
          onProgress: opts.onProgress
            ? (bytesRead, totalBytes) =>
                opts.onProgress!({
                  file: pl.path,
                  fileIndex: i,
                  fileCount: planned.length,
                  bytesRead,
                  totalBytes,
                  bytesBefore,
                  packets: decoder.packets,
                  flows: engine.totalFlows,
                })
            : undefined,
        });
      } catch (err) {
        checkStopped();
        if (err instanceof CaptureError && decoder.packets === packetsBefore) {
          // Unusable before its first packet (only possible for stdin or a file that changed since it was hashed).
          results.push(unusable(pl.path, pl.sha256, err.message));
          continue;
        }
        throw err;
      }
      checkStopped();
      bytesBefore += pl.size ?? r.bytes;
      formats.add(formatOf(r));
      for (const l of r.info.linktypes) linktypes.add(l);
      if (pl.sha256 === null) {
        // Hashed while read (standard input, or the only file): only now known to be a duplicate or not.
        const stored = store.findFile(r.sha256);
        if (stored) {
          await writer.abort();
          results.push({ path: pl.path, status: 'duplicate', sha256: r.sha256, captureId: stored.captureId, packets: 0, firstTsUs: null, lastTsUs: null, message: `${pl.path}: already ingested as capture ${stored.captureId} (${stored.path})`, fatal: false });
          out.elapsedMs = Date.now() - started;
          return out;
        }
        lateSha = r.sha256;
      }
      const sha = pl.sha256 ?? r.sha256;
      writer.addCaptureFile(seq++, {
        path: pl.path,
        sha256: sha,
        format: formatOf(r),
        size: pl.size,
        packets: r.packets,
        firstTsUs: r.firstTsUs,
        lastTsUs: r.lastTsUs,
        truncated: r.damage !== null,
        damage: r.damage ? r.damage.message : null,
      });
      if (r.damage) damage.push(r.damage.message);
      if (prevLast !== null && r.firstTsUs !== null && r.firstTsUs < prevLast.tsUs) {
        // Rotated files follow each other; these overlap (e.g. one capture per host). They are read
        // one after another, so time runs backwards at the seam: say so rather than guess.
        out.warnings.push(
          `${pl.path} starts ${((prevLast.tsUs - r.firstTsUs) / 1e6).toFixed(6)} s before ${prevLast.path} ends: ` +
            'files that overlap in time are read one after another, not merged; a connection seen in both may be split or misread',
        );
      }
      if (r.lastTsUs !== null && (prevLast === null || r.lastTsUs > prevLast.tsUs)) prevLast = { path: pl.path, tsUs: r.lastTsUs };
      out.bytes += r.bytes;
      if (r.firstTsUs !== null && (out.firstTsUs === null || r.firstTsUs < out.firstTsUs)) out.firstTsUs = r.firstTsUs;
      if (r.lastTsUs !== null && (out.lastTsUs === null || r.lastTsUs > out.lastTsUs)) out.lastTsUs = r.lastTsUs;
      const done: IngestFileResult = {
        path: pl.path,
        status: 'ingested',
        sha256: sha,
        captureId: null,
        packets: r.packets,
        firstTsUs: r.firstTsUs,
        lastTsUs: r.lastTsUs,
        message: r.damage ? r.damage.message : null,
        fatal: r.damage ? r.damage.fatal : false,
      };
      results.push(done);
      ingested.push(done);
    }
    if (seq === 0) {
      // Nothing readable: no capture row.
      await writer.abort();
      out.elapsedMs = Date.now() - started;
      return out;
    }
    engine.finish(out.lastTsUs ?? 0);
    flush();
    decoder.finish(); // fragmented datagrams never completed count as fragment_reassembly_timeout
    out.packets = decoder.packets;
    out.tcpPackets = decoder.tcpPackets;
    out.flows = engine.totalFlows;
    out.truncated = damage.length > 0;
    out.anomalies = decoder.anomalies.toObject();
    if (out.warnings.length > 0) out.anomalies.files_overlap_in_time = out.warnings.length;
    checkStopped();
    const captureId = await begun;
    for (const f of ingested) f.captureId = captureId;
    await writer.finish({
      firstTsUs: out.firstTsUs,
      lastTsUs: out.lastTsUs,
      packets: out.packets,
      tcpPackets: out.tcpPackets,
      bytes: out.bytes,
      anomalies: out.anomalies,
      truncated: out.truncated,
      damage: damage.length > 0 ? damage.join('; ') : null,
      format: [...formats].join(','),
      linktypes: [...linktypes],
      sha256: lateSha,
    });
    out.captureId = captureId;
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await writer.close();
  }
  // Files are reported in the order they were read, then skipped ones.
  out.files.sort((a, b) => rank(a) - rank(b));
  out.elapsedMs = Date.now() - started;
  return out;
}

function rank(f: IngestFileResult): number {
  return f.status === 'ingested' ? 0 : f.status === 'duplicate' ? 1 : 2;
}

function unusable(path: string, sha: string | null, message: string): IngestFileResult {
  return { path, status: 'unusable', sha256: sha, captureId: null, packets: 0, firstTsUs: null, lastTsUs: null, message, fatal: true };
}
