import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { fixture } from '../helpers/paths';

/**
 * Structural mutations of the project's real captures: the fuzz suite's
 * inputs. A case is plain data (a seed fixture, a list of operations, an
 * optional gzip layer with its own damage), so fast-check can shrink it to
 * the fewest, simplest operations that still break the contract, and print
 * it; `buildInput` turns it into bytes.
 */

/** Small real captures (kernel traffic, see fixtures/README.md and fixtures/formats/README.md). */
export const SEEDS: readonly string[] = [
  'formats/eth-ipv4.pcap',
  'formats/eth-ipv6-ns.pcap',
  'formats/be-us.pcap',
  'formats/snaplen-96.pcap',
  'formats/sll2-any.pcap',
  'formats/ipv4-fragments.pcap',
  'formats/eth-ipv4.pcapng',
  'formats/eth-ipv6-ns.pcapng',
  'formats/sections.pcapng',
  'formats/dumpcap-two-interfaces.pcapng',
  'client-closes-first.pcap',
  'connection-refused.pcap',
];

const seedCache = new Map<string, Buffer>();
export function seedBytes(name: string): Buffer {
  let b = seedCache.get(name);
  if (!b) {
    b = readFileSync(fixture(...name.split('/')));
    seedCache.set(name, b);
  }
  return b;
}

/** A value written into a field: absolute, or the current value plus a small delta. */
export type Value = { abs: number } | { rel: number };

export type Op =
  /** Cut the file at a fraction (per million) of its length. */
  | { k: 'truncate'; at: number }
  /** Cut the file `delta` bytes after the start of record/block `rec`. */
  | { k: 'cutRecord'; rec: number; delta: number }
  /** Overwrite a field of record/block `rec` (pcap: ts_sec, ts_frac, caplen, origlen; pcapng: type, length, trailing length, interface, ts high, ts low, caplen, origlen). */
  | { k: 'recordField'; rec: number; field: number; value: Value }
  /** Overwrite a field of the file header (pcap: magic byte, version, snaplen, linktype; pcapng SHB: byte-order magic byte, version, length). */
  | { k: 'headerField'; field: number; value: Value }
  /** Set the timestamp of packet record/block `rec` (pcap: seconds and fraction; pcapng EPB: high and low 32 bits). */
  | { k: 'packetTime'; rec: number; hi: Value; lo: Value }
  /** Set an option of pcapng interface block `idb` (if_tsresol or if_tsoffset, or an unknown code), rewriting the block. */
  | { k: 'idbOption'; idb: number; code: number; value: string }
  /** Overwrite an IPv4/IPv6/TCP header field of the packet in record `rec`. */
  | { k: 'packetField'; rec: number; field: number; value: Value }
  /** XOR one byte (at a fraction per million of the length). */
  | { k: 'flip'; at: number; mask: number }
  /** Repeat, drop, or swap records/blocks. */
  | { k: 'dup'; rec: number }
  | { k: 'drop'; rec: number }
  | { k: 'swap'; a: number; b: number }
  /** Insert record/block `rec` of another seed after record `at` (splicing across files). */
  | { k: 'splice'; seed: number; rec: number; at: number }
  /** Append another seed whole. */
  | { k: 'concat'; seed: number };

export type GzipOp =
  | { k: 'gzTruncate'; at: number }
  | { k: 'gzFlip'; at: number; mask: number }
  | { k: 'gzAppend'; what: 'junk' | 'zeros' | 'magic-junk' | 'member'; n: number };

export interface FuzzCase {
  seed: number;
  ops: Op[];
  /** null: not compressed. members: split the (mutated) file into that many gzip members. */
  gzip: { level: number; members: number; ops: GzipOp[] } | null;
  /** Run this case through the real built CLI (slower) rather than in-process. */
  cli: boolean;
}

interface Unit {
  off: number;
  len: number;
}

/** Records (pcap) or blocks (pcapng) as far as their lengths stay inside the file; [] when neither. */
function units(b: Buffer): { kind: 'pcap' | 'pcapng' | 'other'; le: boolean; list: Unit[] } {
  const list: Unit[] = [];
  if (b.length >= 24) {
    const m = b.readUInt32LE(0);
    const mb = b.readUInt32BE(0);
    const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
    if (le || mb === 0xa1b2c3d4 || mb === 0xa1b23c4d) {
      for (let o = 24; o + 16 <= b.length; ) {
        const cap = le ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8);
        if (o + 16 + cap > b.length) break;
        list.push({ off: o, len: 16 + cap });
        o += 16 + cap;
      }
      return { kind: 'pcap', le, list };
    }
    if (m === 0x0a0d0d0a) {
      let le2 = true;
      for (let o = 0; o + 12 <= b.length; ) {
        if (b.readUInt32LE(o) === 0x0a0d0d0a) le2 = b.readUInt32LE(o + 8) !== 0x4d3c2b1a;
        const len = le2 ? b.readUInt32LE(o + 4) : b.readUInt32BE(o + 4);
        if (len < 12 || len % 4 !== 0 || o + len > b.length) break;
        list.push({ off: o, len });
        o += len;
      }
      return { kind: 'pcapng', le: b.length >= 12 && b.readUInt32LE(8) !== 0x4d3c2b1a, list };
    }
  }
  return { kind: 'other', le: true, list };
}

function put(b: Buffer, off: number, width: number, le: boolean, value: Value): void {
  if (off < 0 || off + width > b.length) return;
  const max = width === 4 ? 0x100000000 : width === 2 ? 0x10000 : 0x100;
  const cur = width === 4 ? (le ? b.readUInt32LE(off) : b.readUInt32BE(off)) : width === 2 ? (le ? b.readUInt16LE(off) : b.readUInt16BE(off)) : b[off];
  const v = ((('abs' in value ? value.abs : cur + value.rel) % max) + max) % max;
  if (width === 4) le ? b.writeUInt32LE(v, off) : b.writeUInt32BE(v, off);
  else if (width === 2) le ? b.writeUInt16LE(v, off) : b.writeUInt16BE(v, off);
  else b[off] = v;
}

/** Where the IP header of a packet starting at `p` (captured length `cap`) is: Ethernet, Linux SLL, SLL2 or raw. */
function ipOffset(b: Buffer, p: number, cap: number): number | null {
  const end = p + cap;
  const ethertype = (o: number) => (o + 2 <= end ? b.readUInt16BE(o) : -1);
  for (const [at, typeAt] of [[14, 12], [16, 14], [20, 0]] as [number, number][]) {
    const t = ethertype(p + typeAt);
    if ((t === 0x0800 || t === 0x86dd) && p + at < end) return p + at;
  }
  if (p < end && (b[p] >> 4 === 4 || b[p] >> 4 === 6)) return p;
  return null;
}

/** IPv4 (0-5), IPv6 (0-2) and TCP (6-13) header fields: [offset from the header start, width]. */
const IP4_FIELDS: [number, number][] = [[0, 1], [2, 2], [6, 2], [8, 1], [9, 1], [3, 1]];
const IP6_FIELDS: [number, number][] = [[4, 2], [6, 1], [0, 1]];
const TCP_FIELDS: [number, number][] = [[12, 1], [13, 1], [0, 2], [2, 2], [4, 4], [8, 4], [14, 2], [20, 1]];

function packetField(b: Buffer, kind: 'pcap' | 'pcapng', u: Unit, le: boolean, field: number, value: Value): void {
  const p = kind === 'pcap' ? u.off + 16 : u.off + 28;
  if (kind === 'pcapng' && (le ? b.readUInt32LE(u.off) : b.readUInt32BE(u.off)) !== 6) return;
  const cap = Math.max(0, Math.min(u.off + u.len - p, le ? b.readUInt32LE(u.off + (kind === 'pcap' ? 8 : 20)) : b.readUInt32BE(u.off + (kind === 'pcap' ? 8 : 20))));
  const ip = ipOffset(b, p, cap);
  if (ip === null) return;
  const v6 = b[ip] >> 4 === 6;
  const f = field % 14;
  if (f < 6) {
    const [o, w] = (v6 ? IP6_FIELDS : IP4_FIELDS)[f % (v6 ? IP6_FIELDS.length : IP4_FIELDS.length)];
    put(b, ip + o, w, false, value);
    return;
  }
  const tcp = v6 ? ip + 40 : ip + (b[ip] & 0x0f) * 4;
  const [o, w] = TCP_FIELDS[(f - 6) % TCP_FIELDS.length];
  put(b, tcp + o, w, false, value);
}

function pick<T>(list: T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[((i % list.length) + list.length) % list.length];
}

function idbWithOption(b: Buffer, u: Unit, le: boolean, code: number, value: string): Buffer {
  const w16 = (v: number) => {
    const x = Buffer.alloc(2);
    le ? x.writeUInt16LE(v) : x.writeUInt16BE(v);
    return x;
  };
  const w32 = (v: number) => {
    const x = Buffer.alloc(4);
    le ? x.writeUInt32LE(v) : x.writeUInt32BE(v);
    return x;
  };
  let val: Buffer;
  if (code === 14) {
    val = Buffer.alloc(8);
    const big = BigInt.asIntN(64, BigInt(value));
    le ? val.writeBigInt64LE(big) : val.writeBigInt64BE(big);
  } else {
    val = Buffer.from([Number(BigInt.asUintN(8, BigInt(value)))]);
  }
  const opt = Buffer.concat([w16(code), w16(val.length), val, Buffer.alloc((4 - (val.length % 4)) % 4)]);
  const fixed = b.subarray(u.off + 8, u.off + 16);
  // The new option first, then the block's own options (a first if_tsresol wins in the reader and the model alike).
  const rest = b.subarray(u.off + 16, u.off + u.len - 4);
  const body = Buffer.concat([fixed, opt, rest.length >= 4 ? rest : w32(0)]);
  const len = body.length + 12;
  return Buffer.concat([w32(1), w32(len), body, w32(len)]);
}

function applyOp(input: Buffer, op: Op): Buffer {
  const { kind, le, list } = units(input);
  const b = Buffer.from(input);
  const frac = (at: number) => Math.floor((b.length * at) / 1_000_000);
  switch (op.k) {
    case 'truncate':
      return b.subarray(0, frac(op.at));
    case 'cutRecord': {
      const u = pick(list, op.rec);
      return u ? b.subarray(0, Math.max(0, Math.min(b.length, u.off + op.delta))) : b;
    }
    case 'flip':
      if (b.length > 0) b[Math.min(b.length - 1, frac(op.at))] ^= op.mask;
      return b;
    case 'headerField': {
      if (kind === 'pcap') {
        const fields: [number, number][] = [[0, 1], [4, 2], [16, 4], [20, 4], [3, 1]];
        const [o, w] = fields[op.field % fields.length];
        put(b, o, w, le, op.value);
      } else if (kind === 'pcapng') {
        const fields: [number, number][] = [[8, 1], [12, 2], [4, 4], [11, 1]];
        const [o, w] = fields[op.field % fields.length];
        put(b, o, w, le, op.value);
      } else if (b.length > 0) put(b, 0, 1, le, op.value);
      return b;
    }
    case 'recordField': {
      const u = pick(list, op.rec);
      if (!u) return b;
      if (kind === 'pcap') put(b, u.off + 4 * (op.field % 4), 4, le, op.value);
      else {
        const f = op.field % 8;
        const at = f === 2 ? u.off + u.len - 4 : f < 2 ? u.off + 4 * f : u.off + 8 + 4 * (f - 3);
        put(b, at, 4, le, op.value);
      }
      return b;
    }
    case 'packetTime': {
      const packets = kind === 'pcapng' ? list.filter((u) => (le ? b.readUInt32LE(u.off) : b.readUInt32BE(u.off)) === 6 && u.len >= 32) : list;
      const u = pick(packets, op.rec);
      if (!u) return b;
      const at = kind === 'pcapng' ? u.off + 12 : u.off;
      put(b, at, 4, le, op.hi);
      put(b, at + 4, 4, le, op.lo);
      return b;
    }
    case 'idbOption': {
      if (kind !== 'pcapng') return b;
      const idbs = list.filter((u) => (le ? b.readUInt32LE(u.off) : b.readUInt32BE(u.off)) === 1 && u.len >= 20);
      const u = pick(idbs, op.idb);
      if (!u) return b;
      return Buffer.concat([b.subarray(0, u.off), idbWithOption(b, u, le, op.code, op.value), b.subarray(u.off + u.len)]);
    }
    case 'packetField': {
      const u = pick(list, op.rec);
      if (u && kind !== 'other') packetField(b, kind, u, le, op.field, op.value);
      return b;
    }
    case 'dup': {
      const u = pick(list, op.rec);
      return u ? Buffer.concat([b.subarray(0, u.off + u.len), b.subarray(u.off, u.off + u.len), b.subarray(u.off + u.len)]) : b;
    }
    case 'drop': {
      const u = pick(list, op.rec);
      return u ? Buffer.concat([b.subarray(0, u.off), b.subarray(u.off + u.len)]) : b;
    }
    case 'swap': {
      const x = pick(list, op.a);
      const y = pick(list, op.b);
      if (!x || !y || x.off === y.off) return b;
      const [p, q] = x.off < y.off ? [x, y] : [y, x];
      return Buffer.concat([b.subarray(0, p.off), b.subarray(q.off, q.off + q.len), b.subarray(p.off + p.len, q.off), b.subarray(p.off, p.off + p.len), b.subarray(q.off + q.len)]);
    }
    case 'splice': {
      const other = seedBytes(pick([...SEEDS], op.seed)!);
      const ou = pick(units(other).list, op.rec);
      const at = pick(list, op.at);
      if (!ou) return b;
      const pos = at ? at.off + at.len : b.length;
      return Buffer.concat([b.subarray(0, pos), other.subarray(ou.off, ou.off + ou.len), b.subarray(pos)]);
    }
    case 'concat':
      return Buffer.concat([b, seedBytes(pick([...SEEDS], op.seed)!)]);
  }
}

function applyGzip(plain: Buffer, gz: NonNullable<FuzzCase['gzip']>): Buffer {
  const members: Buffer[] = [];
  const n = Math.max(1, gz.members);
  for (let i = 0; i < n; i++) {
    const a = Math.floor((plain.length * i) / n);
    const z = Math.floor((plain.length * (i + 1)) / n);
    members.push(gzipSync(plain.subarray(a, z), { level: gz.level }));
  }
  let b = Buffer.concat(members);
  for (const op of gz.ops) {
    const frac = (at: number) => Math.floor((b.length * at) / 1_000_000);
    if (op.k === 'gzTruncate') b = b.subarray(0, frac(op.at));
    else if (op.k === 'gzFlip') {
      b = Buffer.from(b);
      if (b.length > 0) b[Math.min(b.length - 1, frac(op.at))] ^= op.mask;
    } else {
      let tail: Buffer;
      if (op.what === 'zeros') tail = Buffer.alloc(op.n);
      else if (op.what === 'member') tail = gzipSync(seedBytes(SEEDS[op.n % SEEDS.length]).subarray(24, 24 + op.n * 7));
      else {
        tail = Buffer.alloc(op.n);
        for (let i = 0; i < op.n; i++) tail[i] = (i * 151 + op.n * 31 + 7) & 0xff || 1;
        if (op.what === 'magic-junk') tail = Buffer.concat([Buffer.from([0x1f, 0x8b]), tail]);
      }
      b = Buffer.concat([b, tail]);
    }
  }
  return b;
}

/** The bytes of one fuzz case. */
export function buildInput(c: FuzzCase): Buffer {
  let b = seedBytes(SEEDS[c.seed % SEEDS.length]);
  for (const op of c.ops) b = applyOp(b, op);
  return c.gzip ? applyGzip(b, c.gzip) : b;
}

// ---- generators ----

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const value: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom(0, 1, 4, 5, 12, 0xffff, 0x7fffffff, 0xffffffff, 96, 97, 262144, 262145, 16 * 1024 * 1024 + 4).map((abs) => ({ abs })),
  fc.integer({ min: -40, max: 40 }).map((rel) => ({ rel })),
  u32.map((abs) => ({ abs })),
);
const perMillion = fc.integer({ min: 0, max: 1_000_000 });
const rec = fc.nat({ max: 400 });
const tsoffsets = ['0', '3600', '-3600', String(2n ** 62n), String(-(2n ** 62n)), String(-(2n ** 63n)), String(2n ** 63n - 1n), '253402300800', '-1800000000'];

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('truncate' as const), at: perMillion }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('cutRecord' as const), rec, delta: fc.integer({ min: -4, max: 40 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('recordField' as const), rec, field: fc.nat({ max: 7 }), value }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('headerField' as const), field: fc.nat({ max: 4 }), value }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('packetTime' as const), rec, hi: value, lo: value }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('idbOption' as const),
      idb: fc.nat({ max: 4 }),
      code: fc.constantFrom(9, 9, 14, 14, 2, 0x8000),
      value: fc.oneof(fc.constantFrom('0', '1', '6', '9', '12', '13', '127', String(0x8a), String(0x94), String(0xa0), String(0xa1), '255'), fc.constantFrom(...tsoffsets), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)),
    }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('packetField' as const), rec, field: fc.nat({ max: 13 }), value }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('flip' as const), at: perMillion, mask: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dup' as const), rec }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('drop' as const), rec }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('swap' as const), a: rec, b: rec }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('splice' as const), seed: fc.nat({ max: SEEDS.length - 1 }), rec, at: rec }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('concat' as const), seed: fc.nat({ max: SEEDS.length - 1 }) }) },
);

const gzOp: fc.Arbitrary<GzipOp> = fc.oneof(
  fc.record({ k: fc.constant('gzTruncate' as const), at: perMillion }),
  fc.record({ k: fc.constant('gzFlip' as const), at: perMillion, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ k: fc.constant('gzAppend' as const), what: fc.constantFrom('junk' as const, 'zeros' as const, 'magic-junk' as const, 'member' as const), n: fc.integer({ min: 1, max: 80 }) }),
);

/** A fuzz case; `cliShare` is the fraction (0..1) run through the real CLI. */
export function fuzzCase(cliShare: number): fc.Arbitrary<FuzzCase> {
  const cliWeight = Math.round(cliShare * 1000);
  return fc.record({
    seed: fc.nat({ max: SEEDS.length - 1 }),
    ops: fc.array(op, { minLength: 0, maxLength: 4 }),
    gzip: fc.option(fc.record({ level: fc.integer({ min: 1, max: 9 }), members: fc.integer({ min: 1, max: 3 }), ops: fc.array(gzOp, { maxLength: 2 }) }), { freq: 3 }),
    // Unbiased (fast-check favours small integers), and shrinking towards 0 means towards in-process.
    cli: cliWeight <= 0 ? fc.constant(false) : fc.noBias(fc.integer({ min: 0, max: 999 })).map((x) => x >= 1000 - cliWeight),
  });
}
