import { readCapture, type ReadResult } from '../source/read-capture';
import { CaptureError } from '../source/capture-error';
import type { CaptureWriter } from '../store/capture-writer';
import type { FlowStore } from '../store/flow-store';
import { alreadyStored, unusable, type IngestFileResult, type IngestProgress, type PlannedInput } from './ingest-types';
import type { PacketTracker } from './packet-tracker';

/** What the inputs read added up to. */
export interface ReadSummary {
  /** Inputs read (at least one packet's worth of header): each got a capture_files row. */
  filesRead: number;
  /** This ingest's results for files read, in order (they get the capture id once the writer has given it). */
  ingested: IngestFileResult[];
  bytes: number;
  firstTsUs: number | null;
  lastTsUs: number | null;
  formats: Set<string>;
  linktypes: Set<number>;
  /** One message per damaged input. */
  damage: string[];
  /** One line each: inputs that overlap in time, and framing anomalies the reader warned about. */
  warnings: string[];
  /** How many inputs overlap in time (files_overlap_in_time). */
  overlaps: number;
  /** Framing anomalies the reader counted (bad_timestamp, gzip_trailing_garbage, ...), over all inputs. */
  sourceAnomalies: Record<string, number>;
  /** sha256 of an input hashed while read (only ever the sole input). */
  lateSha: string | null;
}

export interface ReadContext {
  store: FlowStore;
  writer: CaptureWriter;
  tracker: PacketTracker;
  /** Stops the read (the caller's abort, or the writer failing to begin). */
  signal: AbortSignal;
  /** Throws what stopped the read, if something did. */
  checkStopped: () => void;
  onProgress?: (p: IngestProgress) => void;
  /** The ingest's file results: each input read (or found unusable) is appended, in reading order. */
  results: IngestFileResult[];
}

function formatOf(r: ReadResult): string {
  return r.info.gzip ? `${r.info.format}+gzip` : r.info.format;
}

/**
 * Stage 4 of a file ingest: reads the ordered inputs one after another into
 * the packet tracker (readCapture → Decoder → TcpEngine), giving the writer
 * one capture_files row per input read. Returns { duplicate } instead when
 * the sole input, hashed while read, turns out to be stored already: the
 * caller then rolls back.
 */
export async function readInputs(planned: readonly PlannedInput[], ctx: ReadContext): Promise<ReadSummary | { duplicate: IngestFileResult }> {
  const { tracker, writer, results } = ctx;
  const decoder = tracker.decoder;
  const sum: ReadSummary = {
    filesRead: 0,
    ingested: [],
    bytes: 0,
    firstTsUs: null,
    lastTsUs: null,
    formats: new Set(),
    linktypes: new Set(),
    damage: [],
    warnings: [],
    overlaps: 0,
    sourceAnomalies: {},
    lateSha: null,
  };
  let bytesBefore = 0;
  /** The latest last-packet time among the files read so far, and whose it is. */
  let prevLast: { path: string; tsUs: number } | null = null;
  for (let i = 0; i < planned.length; i++) {
    const pl = planned[i];
    const packetsBefore = decoder.packets;
    let r: ReadResult;
    try {
      r = await readCapture(pl.path, tracker.onPacket, {
        signal: ctx.signal,
        // Files hashed up front are not hashed again; standard input and a lone file are hashed while read.
        hash: pl.sha256 === null,
        onProgress: ctx.onProgress
          ? (bytesRead, totalBytes) =>
              ctx.onProgress!({
                file: pl.path,
                fileIndex: i,
                fileCount: planned.length,
                bytesRead,
                totalBytes,
                bytesBefore,
                packets: decoder.packets,
                flows: tracker.engine.totalFlows,
              })
          : undefined,
      });
    } catch (err) {
      ctx.checkStopped();
      if (err instanceof CaptureError && decoder.packets === packetsBefore) {
        // Unusable before its first packet (only possible for stdin or a file that changed since it was hashed).
        results.push(unusable(pl.path, pl.sha256, err.message));
        continue;
      }
      if (err instanceof CaptureError) throw err;
      // Never an error without the file's name (the ingest is rolled back).
      throw new Error(`${pl.path}: ${err instanceof Error ? err.message : String(err)}; nothing was added`);
    }
    ctx.checkStopped();
    bytesBefore += pl.size ?? r.bytes;
    sum.formats.add(formatOf(r));
    for (const l of r.info.linktypes) sum.linktypes.add(l);
    if (pl.sha256 === null) {
      // Hashed while read (standard input, or the only file): only now known to be a duplicate or not.
      const stored = ctx.store.findFile(r.sha256);
      if (stored) return { duplicate: alreadyStored(pl.path, r.sha256, stored) };
      sum.lateSha = r.sha256;
    }
    const sha = pl.sha256 ?? r.sha256;
    writer.addCaptureFile(sum.filesRead++, {
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
    if (r.damage) sum.damage.push(r.damage.message);
    if (prevLast !== null && r.firstTsUs !== null && r.firstTsUs < prevLast.tsUs) {
      // Rotated files follow each other; these overlap (e.g. one capture per host). They are read
      // one after another, so time runs backwards at the seam: say so rather than guess.
      sum.overlaps++;
      sum.warnings.push(
        `${pl.path} starts ${((prevLast.tsUs - r.firstTsUs) / 1e6).toFixed(6)} s before ${prevLast.path} ends: ` +
          'files that overlap in time are read one after another, not merged; a connection seen in both may be split or misread',
      );
    }
    for (const w of r.warnings) sum.warnings.push(w);
    for (const [name, n] of Object.entries(r.anomalies)) sum.sourceAnomalies[name] = (sum.sourceAnomalies[name] ?? 0) + n;
    if (r.lastTsUs !== null && (prevLast === null || r.lastTsUs > prevLast.tsUs)) prevLast = { path: pl.path, tsUs: r.lastTsUs };
    sum.bytes += r.bytes;
    if (r.firstTsUs !== null && (sum.firstTsUs === null || r.firstTsUs < sum.firstTsUs)) sum.firstTsUs = r.firstTsUs;
    if (r.lastTsUs !== null && (sum.lastTsUs === null || r.lastTsUs > sum.lastTsUs)) sum.lastTsUs = r.lastTsUs;
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
    sum.ingested.push(done);
  }
  return sum;
}
