import { createHash, Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { CaptureError } from './capture-error';
import { digestFileInWorker } from './file-digest';
import { gunzipChunks } from './gunzip-input';

/** Size of one read from a file. */
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
    // A regular file can be read again to recover the last bytes before damage in the gzip data.
    chunks = gunzipChunks(raw, { rereadable: file !== '-' && totalBytes !== null ? file : null });
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
