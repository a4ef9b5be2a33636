import { CaptureError } from './capture-error';
import { CaptureInfo, ReadOptions, ReadResult } from './capture-info';
import { FormatReader, ReadState } from './format-reader';
import { openInput } from './input-stream';
import { PcapReader, isPcapMagic } from './pcap-reader';
import { PcapngReader, isPcapngMagic } from './pcapng-reader';
import { PacketHandler } from './raw-packet';

export type { CaptureInfo, CaptureDamage, ReadOptions, ReadResult } from './capture-info';

/** Bytes of the next chunk appended to a leftover to finish a straddling record (most records are far smaller). */
const STITCH_BYTES = 64 * 1024;

function describeStart(buf: Buffer, gzip: boolean): string {
  const head = buf.subarray(0, Math.min(8, buf.length));
  const printable = head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09);
  const shown = printable
    ? JSON.stringify(head.toString('latin1'))
    : head.toString('hex').replace(/(..)/g, '$1 ').trim();
  return `not a pcap or pcapng file (${gzip ? 'gzip data ' : ''}starts with ${shown})`;
}

/**
 * Streams the capture `file` ('-' = stdin) in chunks, in constant memory,
 * calling `onPacket` for every record with a reused RawPacket. Reads classic
 * pcap (both byte orders, µs/ns) and pcapng, either optionally gzipped
 * (detected by magic).
 *
 * Throws CaptureError for unusable input (missing or unreadable file, empty
 * file, not a capture, truncated global header / section header). Damage
 * after the header is reported in `damage`, with every earlier packet kept.
 */
export async function readCapture(file: string, onPacket: PacketHandler, opts: ReadOptions = {}): Promise<ReadResult> {
  const input = await openInput(file, opts.hash !== false);
  const info: CaptureInfo = {
    file,
    format: 'pcap',
    gzip: input.gzip,
    byteOrder: 'le',
    tsPrecision: 'us',
    snaplen: 0,
    linktypes: [],
    sections: 0,
    interfaces: 0,
  };
  const st = new ReadState(file, info, onPacket);
  let reader: FormatReader | null = null;
  let carry: Buffer | null = null;
  let base = 0; // input offset of carry[0] / of the next chunk when carry is null
  let total = 0; // decompressed bytes seen
  const { onProgress, signal } = opts;
  const iterator = input.chunks[Symbol.asyncIterator]();
  // An abort also ends a wait for input that may never come (an idle pipe on standard input).
  // A listener per wait, removed when the chunk comes: nothing long-lived holds on to the chunks.
  const nextChunk = (): Promise<IteratorResult<Buffer>> => {
    if (signal === undefined) return iterator.next();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new CaptureError(file, total, 'aborted', 'reading aborted'));
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      iterator.next().then(
        (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  };
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await nextChunk();
      } catch (err) {
        if (err instanceof CaptureError) throw err;
        // zlib: a cut-short gzip stream ends with 'unexpected end of file'; anything else is corrupt data.
        const e = err as NodeJS.ErrnoException;
        const cut = e.code === 'Z_BUF_ERROR';
        if (!reader) {
          throw new CaptureError(file, total, 'bad_gzip', `gzip data is corrupt or cut short (${e.message})`);
        }
        if (!st.damage) {
          st.setDamage(
            cut ? 'truncated_gzip' : 'bad_gzip',
            total,
            cut ? 'gzip stream cut short, decompressed data ends' : `gzip data corrupt (${e.message}), decompressed data ends`,
            !cut,
          );
        }
        break;
      }
      if (next.done) break;
      if (signal?.aborted) throw new CaptureError(file, total, 'aborted', 'reading aborted');
      let chunk = next.value;
      total += chunk.length;
      if (reader && carry) {
        // A record straddles the chunk boundary: parse it from a small stitched
        // buffer rather than copying the whole chunk behind the leftover.
        const take = Math.min(chunk.length, STITCH_BYTES);
        const stitched = Buffer.concat([carry, chunk.subarray(0, take)]);
        const used = reader.parse(stitched, base);
        if (st.damage) {
          base += used;
          carry = null;
          break;
        }
        if (used >= carry.length) {
          base += used;
          chunk = chunk.subarray(used - carry.length);
          carry = null;
        }
      }
      const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      if (!reader) {
        if (buf.length < 4) {
          carry = buf;
          continue;
        }
        if (isPcapMagic(buf, 0)) {
          reader = new PcapReader(st);
        } else if (isPcapngMagic(buf, 0)) {
          info.format = 'pcapng';
          reader = new PcapngReader(st);
        } else {
          throw new CaptureError(file, 0, 'not_a_capture', describeStart(buf, input.gzip));
        }
      }
      const used = reader.parse(buf, base);
      base += used;
      carry = used < buf.length ? buf.subarray(used) : null;
      if (onProgress) onProgress(input.rawBytesRead(), input.totalBytes);
      if (st.damage) break;
    }
    if (!st.damage || !st.damage.fatal) {
      if (!reader) {
        if (total === 0) throw new CaptureError(file, 0, 'empty_file', 'empty file, not a capture');
        throw new CaptureError(file, 0, 'not_a_capture', `${describeStart(carry ?? Buffer.alloc(0), input.gzip)}, only ${total} bytes`);
      }
      if (!st.damage) reader.finish(carry ? carry.length : 0, base);
    }
    let bytes = total;
    if (st.damage && st.damage.fatal) {
      bytes = st.damage.offset;
    }
    if (st.damage && st.damage.fatal && !input.digestIsWholeFile) {
      // Keep reading the raw input so the digest covers the whole file.
      try {
        for (;;) {
          const r = await iterator.next();
          if (r.done) break;
        }
      } catch {
        // the digest then covers what could be read
      }
    }
    return {
      info,
      packets: st.packets,
      bytes,
      firstTsUs: st.minTsUs === Infinity ? null : st.minTsUs,
      lastTsUs: st.maxTsUs === -Infinity ? null : st.maxTsUs,
      sha256: await input.digest(),
      damage: st.damage,
    };
  } catch (err) {
    input.cancel();
    throw err;
  } finally {
    await input.close();
  }
}
