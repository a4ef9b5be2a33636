/**
 * Canonical text for addresses read from the kernel, matching what the decoder
 * writes into FlowRecord: dotted quad for IPv4, RFC 5952 for IPv6, and IPv4 for
 * IPv4-mapped IPv6 addresses (such a socket puts IPv4 packets on the wire).
 */

/** Dotted quad of an unsigned 32-bit address (network order value). */
export function ipv4Text(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/**
 * RFC 5952 text of an IPv6 address given as eight 16-bit groups: lowercase,
 * no leading zeros, the longest run (>= 2) of zero groups, first on ties,
 * replaced by `::`.
 */
export function ipv6Text(groups: ArrayLike<number>): string {
  let bestStart = -1;
  let bestLen = 1;
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
  const hex = (i: number) => groups[i].toString(16);
  if (bestStart < 0) {
    const parts: string[] = [];
    for (let i = 0; i < 8; i++) parts.push(hex(i));
    return parts.join(':');
  }
  const head: string[] = [];
  for (let i = 0; i < bestStart; i++) head.push(hex(i));
  const tail: string[] = [];
  for (let i = bestStart + bestLen; i < 8; i++) tail.push(hex(i));
  return `${head.join(':')}::${tail.join(':')}`;
}

/** True for ::ffff:a.b.c.d given as eight 16-bit groups. */
export function isV4Mapped(groups: ArrayLike<number>): boolean {
  return (
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff
  );
}
