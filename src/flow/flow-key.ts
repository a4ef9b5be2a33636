/**
 * Direction-independent numeric flow key. The hash of (A -> B) equals the
 * hash of (B -> A): each side is hashed on its own and the two are combined
 * with a commutative operation. Collisions are resolved by comparing the
 * real fields (see flow-table.ts). No allocation.
 */

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function side4(addr: number, port: number): number {
  return mix(Math.imul(addr ^ 0x9e3779b9, 0x01000193) ^ (port * 0x2545f491));
}

function side6(words: Uint32Array, port: number): number {
  let h = 0x811c9dc5 ^ port;
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ words[i], 0x01000193) ^ (h >>> 15);
  return mix(h);
}

/** Small-integer (31-bit) direction-independent hash of an IPv4 4-tuple. */
export function flowHash4(srcAddr: number, srcPort: number, dstAddr: number, dstPort: number): number {
  return mix((side4(srcAddr, srcPort) + side4(dstAddr, dstPort)) >>> 0) & 0x3fffffff;
}

/** Small-integer (31-bit) direction-independent hash of an IPv6 4-tuple. */
export function flowHash6(src: Uint32Array, srcPort: number, dst: Uint32Array, dstPort: number): number {
  return mix((side6(src, srcPort) + side6(dst, dstPort) + 0x6b43a9b5) >>> 0) & 0x3fffffff;
}

export function sameAddr6(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}
