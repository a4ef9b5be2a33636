/**
 * Text forms of IP addresses, made only when a flow is written out.
 * IPv6 follows RFC 5952 (canonical text representation).
 */

const v4Cache = new Map<number, string>();
const V4_CACHE_MAX = 65536;

/** Dotted quad of an unsigned 32-bit IPv4 address. */
export function ipv4Text(addr: number): string {
  const a = addr >>> 0;
  const hit = v4Cache.get(a);
  if (hit !== undefined) return hit;
  const text = `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
  if (v4Cache.size >= V4_CACHE_MAX) v4Cache.clear();
  v4Cache.set(a, text);
  return text;
}

/**
 * RFC 5952 text of an IPv6 address given as four big-endian 32-bit words:
 * lowercase hex without leading zeros, the longest run (>= 2) of zero
 * groups replaced by "::" (the first one on a tie), and IPv4-mapped
 * addresses (::ffff:0:0/96) written as ::ffff:a.b.c.d.
 */
export function ipv6Text(words: Uint32Array): string {
  const w0 = words[0] >>> 0;
  const w1 = words[1] >>> 0;
  const w2 = words[2] >>> 0;
  const w3 = words[3] >>> 0;
  if (w0 === 0 && w1 === 0 && w2 === 0x0000ffff) return `::ffff:${ipv4Text(w3)}`;

  const groups = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      const len = i - runStart;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
      runStart = -1;
    }
  }
  if (bestLen < 2) return groups.map((g) => g.toString(16)).join(':');
  const head = groups.slice(0, bestStart).map((g) => g.toString(16)).join(':');
  const tail = groups.slice(bestStart + bestLen).map((g) => g.toString(16)).join(':');
  return `${head}::${tail}`;
}
