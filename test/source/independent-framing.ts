import { constants as zlibConstants, gunzipSync } from 'node:zlib';

/**
 * An independent reading of capture framing, for tests that check what the
 * reader kept against what the file really holds. Written from the format
 * specifications (libpcap savefile, pcapng draft, RFC 1952 via zlib's one-shot
 * API), sharing no code with src/source/.
 */

const ZSYNC = { finishFlush: zlibConstants.Z_SYNC_FLUSH };

export interface GzipPrefix {
  /** Every byte zlib can decompress from the stream before it fails. */
  out: Buffer;
  /** The compressed offset of the first byte zlib cannot take (null: the whole input decompresses, possibly cut short). */
  failsAt: number | null;
}

function gunzipsTo(gz: Buffer, n: number): Buffer | null {
  try {
    return gunzipSync(gz.subarray(0, n), ZSYNC);
  } catch {
    return null;
  }
}

/**
 * What decompresses from `gz` before the first damage: the longest prefix
 * that zlib's one-shot gunzip accepts when not required to reach the stream's
 * end (a shorter prefix of an acceptable one is always acceptable), found by
 * bisection.
 */
export function gzipPrefix(gz: Buffer): GzipPrefix {
  const all = gunzipsTo(gz, gz.length);
  if (all !== null) return { out: all, failsAt: null };
  let ok = 0; // accepted
  let bad = gz.length; // rejected
  while (bad - ok > 1) {
    const mid = (ok + bad) >> 1;
    if (gunzipsTo(gz, mid) !== null) ok = mid;
    else bad = mid;
  }
  return { out: gunzipsTo(gz, ok) ?? Buffer.alloc(0), failsAt: ok };
}

export interface PcapWalk {
  /** Offsets of the complete records before the framing breaks or the data ends. */
  records: number[];
  /** Offsets of records whose captured length breaks the framing (> snaplen or > 256 KiB): the first one, if any. */
  brokenAt: number | null;
  /** Bytes left after the last complete record when the data ends inside one. */
  leftover: number;
  le: boolean;
}

const MAX_CAPLEN = 262144;

/** Walk a classic pcap (either byte order) record by record. Returns null when the global header is incomplete, the magic unknown or the version not 2. */
export function walkPcap(buf: Buffer): PcapWalk | null {
  if (buf.length < 24) return null;
  const m = buf.readUInt32LE(0);
  const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
  const mb = buf.readUInt32BE(0);
  if (!le && mb !== 0xa1b2c3d4 && mb !== 0xa1b23c4d) return null;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if ((le ? buf.readUInt16LE(4) : buf.readUInt16BE(4)) !== 2) return null;
  const snaplen = u32(16);
  const records: number[] = [];
  let o = 24;
  while (buf.length - o >= 16) {
    const caplen = u32(o + 8);
    if (caplen > MAX_CAPLEN || (snaplen > 0 && caplen > snaplen)) return { records, brokenAt: o, leftover: 0, le };
    if (buf.length - o - 16 < caplen) break;
    records.push(o);
    o += 16 + caplen;
  }
  return { records, brokenAt: null, leftover: buf.length - o, le };
}
