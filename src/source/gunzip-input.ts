import { createReadStream } from 'node:fs';
import { Gunzip, constants as zlibConstants, createGunzip } from 'node:zlib';

/**
 * Decompressing a gzipped capture so that a damaged stream loses nothing
 * that decompressed before the damage.
 *
 * zlib drops the output of the write that fails: on corrupt data, the last
 * piece written (up to GZIP_PIECE compressed bytes, often the whole of a small
 * file) never reaches the reader. So when the data is corrupt and the input
 * can be read again (a regular file), the stream is decompressed a second time
 * from the start, up to the failing piece, then in ever smaller writes until
 * the exact byte where zlib fails: everything it could decompress before that
 * byte is then delivered. The fast path is unchanged; only a damaged file pays
 * for the second pass. Standard input cannot be read twice: there, up to one
 * piece before the damage may be lost.
 *
 * Data after a complete gzip member that is not itself a gzip member (zlib's
 * "incorrect header check" and the like at a member boundary) is trailing
 * garbage, not corruption: everything was decompressed. Real multi-member
 * files (`cat a.gz b.gz`) are decompressed whole, as zlib does.
 */

/** Size of one gunzip output chunk. */
const OUTPUT_CHUNK = 1 << 20;
/** Compressed bytes per write to zlib. */
export const GZIP_PIECE = 16 * 1024;
/** The smallest complete gzip member: 10-byte header, an empty deflate block, 8-byte trailer. */
const MIN_MEMBER = 20;

export type GzipDamageKind = 'cut' | 'corrupt' | 'trailing_garbage';

/** How a gzip stream ended early. Thrown by gunzipChunks after every byte that decompressed was yielded. */
export class GzipDamage extends Error {
  constructor(
    readonly kind: GzipDamageKind,
    /** Compressed byte offset: where zlib failed (corrupt, cut: the end of the input), or where the trailing garbage starts. */
    readonly rawOffset: number,
    /** zlib's words, e.g. 'invalid distance too far back'. */
    readonly zlibMessage: string,
    /** Decompressed bytes yielded before the damage. */
    readonly decompressedBytes: number,
  ) {
    super(`gzip ${kind} at compressed byte ${rawOffset} (${zlibMessage})`);
    this.name = 'GzipDamage';
  }
}

/** zlib's errors carry a code such as 'Z_DATA_ERROR'; anything else (a read error of the raw input) passes through. */
function zlibCode(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_') ? code : null;
}

/**
 * How many bytes of a gzip member header zlib reads before it reports each
 * header error: a failure at byte F of such an error means the would-be
 * header started at F - (n - 1).
 */
const HEADER_ERRORS: Record<string, number> = {
  'incorrect header check': 2,
  'unknown compression method': 4,
  'unknown header flags set': 4,
};

/**
 * Pieces of at most `piece` bytes. The last 8 bytes of each chunk (at the end
 * of the input, the gzip trailer: CRC32 + size) go in a write of their own,
 * so a failed integrity check cannot take the last data with it.
 */
async function* pieces(src: AsyncIterable<Buffer>, piece: number): AsyncGenerator<Buffer> {
  let tail: Buffer | null = null;
  for await (const chunk of src) {
    if (tail) yield tail;
    if (chunk.length <= 8) {
      tail = chunk;
      continue;
    }
    const end = chunk.length - 8;
    for (let o = 0; o < end; o += piece) yield chunk.subarray(o, Math.min(o + piece, end));
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

/** Decompressed bytes waiting for the reader before no more compressed input is written. */
const QUEUE_BYTES = 4 << 20;

/**
 * A gunzip's output, collected through 'data' events in flowing mode. Its
 * async iterator would not do: an error destroys the stream, and chunks
 * zlib had already pushed but the iterator had not yet taken are dropped.
 * Here every pushed chunk is kept; backpressure is applied on the input side
 * instead (the feeder waits while QUEUE_BYTES are queued).
 */
class OutputQueue {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  ended = false;
  failure: unknown = null;
  private waiters: (() => void)[] = [];

  constructor(gunzip: Gunzip) {
    gunzip.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.bytes += c.length;
      this.wake();
    });
    gunzip.on('end', () => {
      this.ended = true;
      this.wake();
    });
    gunzip.on('error', (err: unknown) => {
      this.failure = err;
      this.wake();
    });
    gunzip.on('close', () => {
      if (this.failure === null) this.ended = true;
      this.wake();
    });
  }

  take(): Buffer | undefined {
    const c = this.chunks.shift();
    if (c) {
      this.bytes -= c.length;
      this.wake();
    }
    return c;
  }

  /** Resolves at the next change (a chunk, the end, an error, room freed). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves once fewer than QUEUE_BYTES wait, or the stream is over. */
  async room(): Promise<void> {
    while (this.bytes >= QUEUE_BYTES && !this.ended && this.failure === null) await this.changed();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/**
 * Feeds the compressed input to `gunzip`. When the input ends, everything is
 * first flushed with Z_SYNC_FLUSH, so all that can be decompressed is output;
 * only then does end() finish the stream with Z_FINISH. On a stream cut short
 * that last step fails ('unexpected end of file', Z_BUF_ERROR) with no output
 * left to lose.
 */
async function feed(src: AsyncIterable<Buffer>, gunzip: Gunzip, queue: OutputQueue, piece: number): Promise<void> {
  try {
    for await (const p of pieces(src, piece)) {
      await queue.room();
      if (gunzip.destroyed) return;
      if (!gunzip.write(p)) await drained(gunzip);
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

/** `src` cut into writes of `piece` bytes from offset `from` on (the bytes before `from` in GZIP_PIECE writes). */
async function* stepped(src: AsyncIterable<Buffer>, from: number, piece: number): AsyncGenerator<Buffer> {
  let at = 0;
  for await (const chunk of src) {
    let o = 0;
    if (at < from) {
      const upTo = Math.min(chunk.length, from - at);
      for (; o < upTo; o += GZIP_PIECE) yield chunk.subarray(o, Math.min(o + GZIP_PIECE, upTo));
      o = upTo;
    }
    for (; o < chunk.length; o += piece) yield chunk.subarray(o, Math.min(o + piece, chunk.length));
    at += chunk.length;
  }
}

interface Replay {
  /** Output past the first `skip` decompressed bytes. */
  out: Buffer[];
  /** Compressed offset of the write that failed (null: no failure, the whole input decompressed). */
  failedAt: number | null;
  err: unknown;
}

/**
 * Decompress `file` again from its start, in GZIP_PIECE writes up to
 * compressed offset `from`, then in writes of `piece` bytes; stops at the
 * first failing write. Keeps only the output after the first `skip` bytes.
 */
async function replay(file: string, from: number, piece: number, skip: number): Promise<Replay> {
  const gunzip = createGunzip({ chunkSize: OUTPUT_CHUNK });
  const queue = new OutputQueue(gunzip);
  const src = createReadStream(file, { highWaterMark: 1 << 20 });
  const writes = (async () => {
    try {
      for await (const p of stepped(src, from, piece)) {
        if (gunzip.destroyed) return;
        if (!gunzip.write(p)) await drained(gunzip);
      }
      if (!gunzip.destroyed) gunzip.end();
    } catch (err) {
      gunzip.destroy(err as Error);
    } finally {
      src.destroy();
    }
  })();
  const out: Buffer[] = [];
  let seen = 0;
  for (;;) {
    const c = queue.take();
    if (c) {
      const keep = seen + c.length - skip;
      if (keep > 0) out.push(keep >= c.length ? c : c.subarray(c.length - keep));
      seen += c.length;
      continue;
    }
    if (queue.failure !== null || queue.ended) break;
    await queue.changed();
  }
  await writes;
  // bytesWritten counts the compressed bytes of the writes zlib finished: the failing one starts there.
  return queue.failure === null ? { out, failedAt: null, err: null } : { out, failedAt: gunzip.bytesWritten, err: queue.failure };
}

export interface GunzipOptions {
  /** The input's path when it can be read a second time (a regular file), else null. */
  rereadable: string | null;
  /** Compressed bytes per write (tests use small ones). */
  piece?: number;
}

/**
 * The decompressed chunks of the gzip input `raw`. Ends normally when the
 * stream was complete; otherwise yields everything that decompressed before
 * the damage, reads the rest of `raw` (so its digest covers the whole input)
 * and throws GzipDamage. Errors reading `raw` pass through.
 */
export async function* gunzipChunks(raw: AsyncIterable<Buffer>, opts: GunzipOptions): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: OUTPUT_CHUNK });
  const rawIt = raw[Symbol.asyncIterator]();
  // No return(): feed stopping early must not close the raw input, whose rest is still read for the digest.
  const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => ({ next: () => rawIt.next() }) };
  const queue = new OutputQueue(gunzip);
  const fed = feed(rest, gunzip, queue, opts.piece ?? GZIP_PIECE);
  let delivered = 0;
  for (;;) {
    const c = queue.take();
    if (c) {
      delivered += c.length;
      yield c;
      continue;
    }
    if (queue.failure !== null) break;
    if (queue.ended) {
      await fed;
      return;
    }
    await queue.changed();
  }
  const failure = queue.failure;
  await fed;
  const code = zlibCode(failure);
  if (code === null) throw failure;
  let failedAt = gunzip.bytesWritten;
  // The rest of the raw input is read (and so hashed) however the stream failed.
  for (;;) {
    const r = await rawIt.next();
    if (r.done) break;
  }
  let message = (failure as Error).message;
  if (code === 'Z_BUF_ERROR') throw new GzipDamage('cut', failedAt, message, delivered);
  if (opts.rereadable !== null) {
    // Narrow down to the byte: writes of 256 bytes from the failing piece on, then single bytes.
    const coarse = await replay(opts.rereadable, failedAt, 256, delivered);
    if (coarse.failedAt !== null) {
      const fine = await replay(opts.rereadable, coarse.failedAt, 1, delivered);
      if (fine.failedAt !== null && zlibCode(fine.err) === code) {
        for (const c of fine.out) {
          delivered += c.length;
          yield c;
        }
        failedAt = fine.failedAt;
        message = (fine.err as Error).message;
      }
    }
  }
  const headerBytes = HEADER_ERRORS[message];
  if (headerBytes !== undefined && failedAt - (headerBytes - 1) >= MIN_MEMBER) {
    throw new GzipDamage('trailing_garbage', failedAt - (headerBytes - 1), message, delivered);
  }
  throw new GzipDamage('corrupt', failedAt, message, delivered);
}
