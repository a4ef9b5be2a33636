import { createHash, Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { Gunzip, constants as zlibConstants, createGunzip } from 'node:zlib';
import { CaptureError } from './capture-error';
import { digestFileInWorker } from './file-digest';

/** Size of one read from a file (and of one gunzip output chunk). */
export const CHUNK_SIZE = 1 << 20;
/** Regular files at least this large are hashed in a worker thread (smaller ones inline: a worker costs ~30 ms to start). */
export const WORKER_HASH_MIN_BYTES = 16 << 20;

/**
 * The bytes of one capture input ('-' = stdin), decompressed when the input
 * starts with the gzip magic. The raw bytes are hashed (sha256) as they are
 * read, so the digest is of the file as stored (compressed bytes for .gz).
 */
export interface InputStream {
  /** Decompressed chunks, in order. Each chunk is a fresh buffer (never reused). */
  readonly chunks: AsyncIterable<Buffer>;
  readonly gzip: boolean;
  /** Size of the raw input when known (regular files), else null. */
  readonly totalBytes: number | null;
  /** Raw (compressed) bytes read so far. */
  rawBytesRead(): number;
  /** Hex sha256 of the whole raw input (for stdin: of the bytes read so far; call after reading to the end). */
  digest(): Promise<string>;
  /** True when the digest covers the whole input however far it was read (regular files: hashed in a worker). */
  readonly digestIsWholeFile: boolean;
  /** Release the file descriptor (safe to call twice). */
  close(): Promise<void>;
  /** Stop hashing and, for standard input, stop reading it (when the read is abandoned by an error or an abort). */
  cancel(): void;
}

/** The peeked chunks, then the rest of the input, each counted and hashed once. */
async function* rawChunks(pull: () => Promise<Buffer | null>, first: Buffer[], counter: RawCounter): AsyncGenerator<Buffer> {
  for (const b of first) yield b;
  for (;;) {
    const chunk = await pull();
    if (chunk === null) return;
    counter.add(chunk);
    yield chunk;
  }
}

/**
 * Compressed input is fed to gunzip in small pieces: when zlib meets corrupt
 * data it drops the output of the write that failed, so small writes keep
 * almost everything decompressed before the corruption.
 */
export const GZIP_PIECE = 16 * 1024;

async function* gzipPieces(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // The last 8 bytes (the gzip trailer: CRC32 + size) go in a write of their
  // own, so a failed integrity check cannot take the last data with it.
  let tail: Buffer | null = null;
  for await (const chunk of src) {
    if (tail) yield tail;
    if (chunk.length <= 8) {
      tail = chunk;
      continue;
    }
    const end = chunk.length - 8;
    for (let o = 0; o < end; o += GZIP_PIECE) yield chunk.subarray(o, Math.min(o + GZIP_PIECE, end));
    tail = chunk.subarray(end);
  }
  if (tail) yield tail;
}

/** Resolves when `gunzip` can take more input again, or will never (closed, failed). */
function drained(gunzip: Gunzip): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      gunzip.off('drain', done);
      gunzip.off('close', done);
      gunzip.off('error', done);
      resolve();
    };
    gunzip.on('drain', done);
    gunzip.on('close', done);
    gunzip.on('error', done);
  });
}

/**
 * Feeds the compressed input to `gunzip`. When the input ends, everything is
 * first flushed with Z_SYNC_FLUSH, so all that can be decompressed is output;
 * only then does end() finish the stream with Z_FINISH. On a stream cut short
 * that last step fails ('unexpected end of file', Z_BUF_ERROR) with no output
 * left to lose: zlib drops the output of the call that fails, which used to be
 * the last complete records when the tail compressed well.
 */
async function feedGunzip(src: AsyncIterable<Buffer>, gunzip: Gunzip): Promise<void> {
  try {
    for await (const piece of gzipPieces(src)) {
      if (gunzip.destroyed) return;
      if (!gunzip.write(piece)) await drained(gunzip);
    }
    if (gunzip.destroyed) return;
    gunzip.flush(zlibConstants.Z_SYNC_FLUSH, () => {
      if (!gunzip.destroyed) gunzip.end();
    });
  } catch (err) {
    // Reading the raw input failed (CaptureError): the consumer sees it from the gunzip stream.
    gunzip.destroy(err as Error);
  }
}

class RawCounter {
  bytes = 0;
  /** null when the digest is computed elsewhere (worker). */
  hash: Hash | null = createHash('sha256');
  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.hash) this.hash.update(chunk);
  }
}

function describeOpenError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a capture file';
    default:
      return `cannot read (${e.code ?? (e instanceof Error ? e.message : String(e))})`;
  }
}

/** Open `file` ('-' = stdin), peek at its first bytes and set up gunzip when it starts with the gzip magic. */
export async function openInput(file: string, hash = true): Promise<InputStream> {
  const counter = new RawCounter();
  if (!hash) counter.hash = null;
  let fh: fsp.FileHandle | null = null;
  let totalBytes: number | null = null;
  let pull: () => Promise<Buffer | null>;
  let workerDigest: ReturnType<typeof digestFileInWorker> | null = null;

  if (file === '-') {
    const it = (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    pull = async () => {
      const r = await it.next();
      if (r.done) return null;
      return Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    };
  } else {
    try {
      fh = await fsp.open(file, 'r');
      const st = await fh.stat();
      if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
      totalBytes = st.isFile() ? st.size : null;
    } catch (err) {
      if (fh) await fh.close().catch(() => undefined);
      throw new CaptureError(file, 0, 'unreadable', describeOpenError(err));
    }
    if (totalBytes !== null && totalBytes >= WORKER_HASH_MIN_BYTES && hash) {
      // Large regular file: hash it in a worker thread, in parallel with parsing.
      workerDigest = digestFileInWorker(file);
      counter.hash = null;
    }
    const handle = fh;
    pull = async () => {
      const buf = Buffer.allocUnsafe(CHUNK_SIZE);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buf, 0, CHUNK_SIZE, null));
      } catch (err) {
        throw new CaptureError(file, counter.bytes, 'unreadable', describeOpenError(err));
      }
      if (bytesRead === 0) return null;
      return bytesRead === CHUNK_SIZE ? buf : buf.subarray(0, bytesRead);
    };
  }

  // Peek: gather at least 2 bytes (or reach EOF) to look for the gzip magic.
  const first: Buffer[] = [];
  let peeked = 0;
  while (peeked < 2) {
    const c = await pull();
    if (c === null) break;
    counter.add(c);
    first.push(c);
    peeked += c.length;
  }
  const head = first.length === 1 ? first[0] : Buffer.concat(first);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

  const raw = rawChunks(pull, first, counter);

  let chunks: AsyncIterable<Buffer> = raw;
  if (gzip) {
    const gunzip = createGunzip({ chunkSize: CHUNK_SIZE });
    void feedGunzip(raw, gunzip);
    chunks = gunzip as AsyncIterable<Buffer>;
  }

  let closed = false;
  return {
    chunks,
    gzip,
    totalBytes,
    rawBytesRead: () => counter.bytes,
    digestIsWholeFile: workerDigest !== null || !hash,
    digest: async () => {
      if (workerDigest) {
        const d = await workerDigest.result;
        if (d !== null) return d;
        throw new CaptureError(file, counter.bytes, 'unreadable', 'could not read the file to hash it');
      }
      return counter.hash ? counter.hash.copy().digest('hex') : '';
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (fh) await fh.close().catch(() => undefined);
    },
    cancel: () => {
      workerDigest?.cancel();
      // A pending read of a pipe that stays open would keep the process alive.
      if (file === '-') process.stdin.destroy();
    },
  };
}
