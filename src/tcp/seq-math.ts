/**
 * Wrap-aware 32-bit TCP sequence arithmetic (RFC 9293 section 3.4, RFC 1982
 * style): the difference of two sequence numbers is taken modulo 2^32 and
 * read as a signed 32-bit value.
 */

/** a - b as a signed 32-bit number (negative when a is "before" b). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** a + n as an unsigned 32-bit sequence number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
