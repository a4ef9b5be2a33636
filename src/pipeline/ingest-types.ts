/** The types of a file ingest (ingestFiles) and of its stages. */

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

/** Milliseconds spent in each stage of one ingest (filled when given in IngestOptions.stageTimes). */
export interface IngestStageTimes {
  /** Stat, hash and de-duplicate the inputs, find their first packet times and order them. */
  planMs: number;
  /** Read, decode and track TCP (flows handed to the writer as they finish), every file. */
  readMs: number;
  /** End of input: the engine emits every flow still held, the last batch is handed over. */
  finishMs: number;
  /** From there until the capture is committed (the writer's remaining rows, index builds, COMMIT). */
  commitMs: number;
}

export interface IngestOptions {
  onProgress?: (p: IngestProgress) => void;
  /** Aborting rolls the whole ingest back (Ctrl-C). */
  signal?: AbortSignal;
  /** Flows per batch handed to the writer (default 500: smaller batches use less memory at the same speed). */
  batchSize?: number;
  timeWaitUs?: number;
  idleTimeoutUs?: number;
  /** Read application-layer facts (HTTP heads, TLS SNI) from the payload; default true. */
  app?: boolean;
  /**
   * Where the SQLite writes run: 'inline' (this thread, the caller's
   * connection; default) or 'worker' (a worker thread with its own connection
   * to the same file, overlapping writes with reading and decoding).
   */
  writer?: 'inline' | 'worker';
  /** Filled with the time of each stage (the benchmark's breakdown). */
  stageTimes?: IngestStageTimes;
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
  /** One line each: inputs that overlap in time (read one after another, not merged), and framing anomalies the reader warned about. */
  warnings: string[];
  elapsedMs: number;
  /** Capture-loss estimate's counts (TcpEngine.lossCounts). */
  loss: { ackedBytes: number; gapBytes: number };
  /** Packets not used, and why (the decoder's counts); `linktypes`: the unsupported link types seen. */
  skipped: { linktype: number; linktypes: number[]; nonIp: number; nonTcp: number; malformed: number; fragments: number };
}

export class IngestAborted extends Error {
  constructor() {
    super('ingest interrupted: the database is unchanged');
    this.name = 'IngestAborted';
  }
}

/** An input to read: its content hash when known before the read, its first packet time when there are several. */
export interface PlannedInput {
  path: string;
  sha256: string | null;
  firstTsUs: number | null;
  size: number | null;
  /** Position on the command line. */
  order: number;
}

/** An input left out before the read, with its position on the command line. */
export interface SkippedInput {
  order: number;
  result: IngestFileResult;
}

export function unusable(path: string, sha: string | null, message: string): IngestFileResult {
  return { path, status: 'unusable', sha256: sha, captureId: null, packets: 0, firstTsUs: null, lastTsUs: null, message, fatal: true };
}

export function alreadyStored(path: string, sha: string, stored: { captureId: number; path: string }): IngestFileResult {
  return { path, status: 'duplicate', sha256: sha, captureId: stored.captureId, packets: 0, firstTsUs: null, lastTsUs: null, message: `${path}: already ingested as capture ${stored.captureId} (${stored.path})`, fatal: false };
}
