/**
 * Buffers for message heads that span segments. Most heads arrive in one
 * segment and are parsed in place from the borrowed packet; only a head cut
 * by a segment boundary is copied, into one of these. Each is MAX_HEAD_BYTES
 * long (a longer head stops the direction: 'head_too_large'), at most
 * MAX_HEAD_BUFFERS are lent at a time in the whole process (beyond that a
 * flow stops being parsed: 'memory'), and returned ones are reused.
 */

/** Longest message head read (start line + header fields). */
export const MAX_HEAD_BYTES = 4096;
/** Heads buffered at once across all flows (16 MiB). */
export const MAX_HEAD_BUFFERS = 4096;
const MAX_FREE = 256;

const free: Buffer[] = [];
let lent = 0;

/** A buffer, or null when MAX_HEAD_BUFFERS are lent already. */
export function takeHeadBuffer(): Buffer | null {
  if (lent >= MAX_HEAD_BUFFERS) return null;
  lent++;
  return free.pop() ?? Buffer.allocUnsafe(MAX_HEAD_BYTES);
}

export function giveHeadBuffer(b: Buffer): void {
  lent--;
  if (free.length < MAX_FREE) free.push(b);
}

/** Copy src[s, e) into dst at `at` (no view object per copy, as subarray() + set() would make). */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, s: number, e: number): void {
  for (let i = s; i < e; i++) dst[at++] = src[i];
}

/** Buffers lent now (tests). */
export function headBuffersLent(): number {
  return lent;
}
