import { CaptureError } from './capture-error';
import { CaptureInfo, ReadOptions, ReadResult } from './capture-info';
import { FormatReader, ReadState } from './format-reader';
import { GzipDamage } from './gunzip-input';
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
 * Records how gzip damage ended the decompressed data, which ends at `end`
 * (the start of a record left incomplete, else the end of what decompressed).
 * A stream cut short is a warning, as a last record cut short is; corrupt
 * data stops the read (fatal); garbage after the last complete gzip member is
 * a warning and a `gzip_trailing_garbage` anomaly, everything read kept.
 */
function gzipDamage(st: ReadState, gz: GzipDamage, end: number, rawBytes: number): void {
  const at = `compressed byte ${gz.rawOffset}, ${gz.decompressedBytes} bytes decompressed`;
  if (gz.kind === 'trailing_garbage') {
    st.anomaly('gzip_trailing_garbage', gz.rawOffset);
    st.warnings.push(
      `${st.file}: ${rawBytes - gz.rawOffset} bytes after the end of the gzip stream are not gzip (${gz.zlibMessage}): ` +
        `ignored as trailing garbage, everything before them read, at compressed byte ${gz.rawOffset}`,
    );
    return;
  }
  const cut = gz.kind === 'cut';
  st.setDamage(
    cut ? 'truncated_gzip' : 'bad_gzip',
    end,
    cut
      ? `gzip stream cut short (${at}; capture was probably cut short), decompressed data ends`
      : `gzip data corrupt (${gz.zlibMessage} at ${at}), decompressed data ends`,
    !cut,
  );
  st.damage!.rawOffset = gz.rawOffset;
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
  let gz: GzipDamage | null = null;
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
        if (!(err instanceof GzipDamage)) throw err;
        // The decompressed data ends here: read on as at the end of an uncompressed file.
        gz = err;
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
      // End of the (decompressed) input, or of what decompressed before gzip damage: the same bytes
      // give the same result compressed or not (a header cut short is unusable either way).
      if (!reader) {
        if (total === 0 && gz && gz.kind === 'corrupt') {
          throw new CaptureError(file, gz.rawOffset, 'bad_gzip', `gzip data corrupt (${gz.zlibMessage}), nothing could be decompressed`);
        }
        if (total === 0) throw new CaptureError(file, 0, 'empty_file', 'empty file, not a capture');
        throw new CaptureError(file, 0, 'not_a_capture', `${describeStart(carry ?? Buffer.alloc(0), input.gzip)}, only ${total} bytes`);
      }
      if (!st.damage) reader.finish(carry ? carry.length : 0, base);
      if (gz) gzipDamage(st, gz, base, input.rawBytesRead());
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
    const bad = st.anomalies.bad_timestamp;
    if (bad) {
      st.warnings.push(
        `${file}: ${bad} record${bad === 1 ? '' : 's'} with a time outside 1970-01-01..9999-12-31 skipped (bad_timestamp), first at byte ${st.anomalyFirstOffsets.bad_timestamp}`,
      );
    }
    return {
      info,
      packets: st.packets,
      bytes,
      firstTsUs: st.minTsUs === Infinity ? null : st.minTsUs,
      lastTsUs: st.maxTsUs === -Infinity ? null : st.maxTsUs,
      sha256: await input.digest(),
      damage: st.damage,
      anomalies: st.anomalies,
      anomalyFirstOffsets: st.anomalyFirstOffsets,
      warnings: st.warnings,
    };
  } catch (err) {
    input.cancel();
    throw err;
  } finally {
    await input.close();
  }
}
