import { gunzipSync } from 'node:zlib';
import { gzipPrefix, walkPcap } from '../source/independent-framing';

/**
 * What the README's bad-input table says wirestate must do with a given
 * input, worked out independently of src/source/: the framing is walked
 * here from the format specifications (pcap, pcapng, gzip through zlib's
 * one-shot API), and the table applied to what the walk finds.
 */
export interface Expected {
  /** 'unusable': exit 1, nothing added. 'ok': exit 0. 'warning': exit 0, marked truncated. 'fatal': exit 1, what came before kept. */
  outcome: 'unusable' | 'ok' | 'warning' | 'fatal';
  /** Decompressed offsets of the records that must be delivered, in order (null when unusable). */
  records: number[] | null;
  /** gzip input: how the stream ends, and the compressed offset that must be named. */
  gzip: { kind: 'complete' | 'cut' | 'corrupt' | 'trailing_garbage'; rawOffset: number | null } | null;
  /** How the (decompressed) framing ends: complete, cut short, or broken. */
  framing: 'clean' | 'cut' | 'broken';
  /** pcapng: records skipped for a time outside 1970..9999. */
  badTimestamps: number;
  /** Why, in words (for failure reports). */
  why: string;
}

const MAX_CAPLEN = 262144;
const MAX_BLOCK = 16 * 1024 * 1024;
const END_US = 253402300800n * 1000000n;

interface Walk {
  usable: boolean;
  records: number[];
  end: 'clean' | 'cut' | 'broken';
  badTimestamps: number;
  why: string;
}

/** pcapng, block by block (draft-ietf-opsawg-pcapng): sections of either byte order, IDB options, EPB/OPB/SPB. */
export function walkPcapng(b: Buffer): Walk {
  const records: number[] = [];
  let bad = 0;
  let le = true;
  let inSection = false;
  type Iface = { snaplen: number; resol: number; offsetS: bigint };
  let ifaces: Iface[] = [];
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const minLen: Record<number, number> = { 0x0a0d0d0a: 28, 1: 20, 2: 32, 3: 16, 6: 32 };
  let o = 0;
  const res = (end: Walk['end'], why: string, usable = true): Walk => ({ usable, records, end, badTimestamps: bad, why });
  while (b.length - o >= 12) {
    const type = b.readUInt32LE(o);
    if (type === 0x0a0d0d0a) {
      const bom = b.readUInt32LE(o + 8);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else return inSection ? res('broken', `SHB without byte-order magic at ${o}`) : res('broken', 'first SHB without byte-order magic', false);
    } else if (!inSection) {
      return res('broken', 'does not start with an SHB', false);
    }
    const t = type === 0x0a0d0d0a ? type : u32(o);
    const len = u32(o + 4);
    const min = minLen[t] ?? 12;
    if (len % 4 !== 0 || len < min || len > MAX_BLOCK) {
      return !inSection && t === 0x0a0d0d0a ? res('broken', 'first SHB length bad', false) : res('broken', `block length ${len} bad at ${o}`);
    }
    if (b.length - o < len) break;
    if (u32(o + len - 4) !== len) return res('broken', `trailing length differs at ${o}`);
    if (t === 0x0a0d0d0a) {
      inSection = true;
      ifaces = [];
    } else if (t === 1) {
      let resol = 6;
      let offsetS = 0n;
      let p = o + 16;
      const optEnd = o + len - 4;
      while (p + 4 <= optEnd) {
        const code = u16(p);
        const olen = u16(p + 2);
        if (code === 0 || p + 4 + olen > optEnd) break;
        if (code === 9 && olen >= 1) resol = b[p + 4];
        if (code === 14 && olen >= 8) offsetS = le ? b.readBigInt64LE(p + 4) : b.readBigInt64BE(p + 4);
        p += 4 + olen + ((4 - (olen % 4)) % 4);
      }
      ifaces.push({ snaplen: u32(o + 12), resol, offsetS });
    } else if (t === 6 || t === 2) {
      const id = t === 6 ? u32(o + 8) : u16(o + 8);
      if (id >= ifaces.length) return res('broken', `packet block names interface ${id} at ${o}`);
      const caplen = u32(o + 20);
      const snap = ifaces[id].snaplen;
      if (caplen > len - 32 || caplen > MAX_CAPLEN || (snap > 0 && caplen > snap)) return res('broken', `caplen ${caplen} at ${o}`);
      const units = (BigInt(u32(o + 12)) << 32n) | BigInt(u32(o + 16));
      const r = ifaces[id].resol;
      const n = BigInt(r & 0x7f);
      const binary = (r & 0x80) !== 0;
      let us: bigint | null;
      if (binary ? n > 32n : n > 12n) us = null;
      else us = (units * 1000000n) / (binary ? 1n << n : 10n ** n) + ifaces[id].offsetS * 1000000n;
      if (us === null || us < 0n || us >= END_US) {
        bad++;
      } else {
        records.push(o);
      }
    } else if (t === 3) {
      if (ifaces.length === 0) return res('broken', `simple packet block before any interface at ${o}`);
      const origlen = u32(o + 8);
      let caplen = Math.min(origlen, len - 16);
      if (ifaces[0].snaplen > 0 && caplen > ifaces[0].snaplen) caplen = ifaces[0].snaplen;
      if (caplen > MAX_CAPLEN) return res('broken', `SPB caplen ${caplen} at ${o}`);
      records.push(o);
    }
    o += len;
  }
  if (!inSection) return res('broken', 'section header incomplete', false);
  return o === b.length ? res('clean', 'complete') : res('cut', `last block cut at ${o}`);
}

function walk(b: Buffer): Walk {
  if (b.length < 4) return { usable: false, records: [], end: 'broken', badTimestamps: 0, why: `only ${b.length} bytes` };
  if (b.readUInt32LE(0) === 0x0a0d0d0a) return walkPcapng(b);
  const m = b.readUInt32LE(0);
  const mb = b.readUInt32BE(0);
  if (![m, mb].some((x) => x === 0xa1b2c3d4 || x === 0xa1b23c4d)) return { usable: false, records: [], end: 'broken', badTimestamps: 0, why: 'no magic' };
  const w = walkPcap(b);
  if (w === null) return { usable: false, records: [], end: 'broken', badTimestamps: 0, why: 'pcap header incomplete or version not 2' };
  return { usable: true, records: w.records, end: w.brokenAt !== null ? 'broken' : w.leftover > 0 ? 'cut' : 'clean', badTimestamps: 0, why: w.brokenAt !== null ? `caplen breaks framing at ${w.brokenAt}` : `leftover ${w.leftover}` };
}

function strictGunzips(gz: Buffer, n: number): boolean {
  try {
    gunzipSync(gz.subarray(0, n));
    return true;
  } catch {
    return false;
  }
}

/** The README's table applied to `input` (the bytes of one file). */
export function expect(input: Buffer): Expected {
  let data = input;
  let gzip: Expected['gzip'] = null;
  if (input.length >= 2 && input[0] === 0x1f && input[1] === 0x8b) {
    const p = gzipPrefix(input);
    data = p.out;
    if (p.failsAt === null) {
      gzip = { kind: strictGunzips(input, input.length) ? 'complete' : 'cut', rawOffset: null };
    } else {
      // Trailing garbage: a complete gzip stream ends at P, and zlib rejects what follows within the
      // first four bytes of a would-be member header (ID1 ID2 CM FLG): it is not a gzip member.
      let end: number | null = null;
      for (let P = p.failsAt; P >= Math.max(20, p.failsAt - 3); P--) {
        if (strictGunzips(input, P)) {
          end = P;
          break;
        }
      }
      gzip = end !== null ? { kind: 'trailing_garbage', rawOffset: end } : { kind: 'corrupt', rawOffset: p.failsAt };
    }
  }
  const w = walk(data);
  const gz = gzip ? ` (gzip ${gzip.kind})` : '';
  if (!w.usable) return { outcome: 'unusable', records: null, gzip, framing: w.end, badTimestamps: 0, why: w.why + gz };
  let outcome: Expected['outcome'] = 'ok';
  if (w.end === 'cut' || gzip?.kind === 'cut') outcome = 'warning';
  if (w.end === 'broken' || gzip?.kind === 'corrupt') outcome = 'fatal';
  return { outcome, records: w.records, gzip, framing: w.end, badTimestamps: w.badTimestamps, why: w.why + gz };
}
