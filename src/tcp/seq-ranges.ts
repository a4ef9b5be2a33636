import { seqDiff, seqGt, seqLt } from './seq-math';

/**
 * Lists of sequence-number ranges, flat [start, end, start, end, ...] in
 * arrival order, wrap-aware: an endpoint's space the capture skipped, or
 * payload the snaplen cut, waiting for the peer's ACK to make it a gap.
 * Small (bounded by the caller); no object per packet.
 */

/** Appends [start, end), merged with the last range when adjacent. At most `max` ranges: the oldest is dropped. */
export function addRange(list: number[], start: number, end: number, max: number): void {
  const merged = list.length > 0 && list[list.length - 1] === start ? seqDiff(end, list[list.length - 2]) : 0;
  if (merged > 0 && merged < 1 << 30) {
    list[list.length - 1] = end >>> 0;
    return;
  }
  if (list.length >= max * 2) list.splice(0, 2);
  list.push(start >>> 0, end >>> 0);
}

/** Removes [start, end) from the ranges. */
export function removeRange(list: number[], start: number, end: number): void {
  for (let i = 0; i < list.length; ) {
    const rs = list[i];
    const re = list[i + 1];
    if (seqLt(start, re) && seqGt(end, rs)) {
      const keepLeft = seqLt(rs, start);
      const keepRight = seqGt(re, end);
      if (keepLeft && keepRight) {
        list[i + 1] = start >>> 0;
        list.splice(i + 2, 0, end >>> 0, re);
        i += 4;
        continue;
      } else if (keepLeft) {
        list[i + 1] = start >>> 0;
      } else if (keepRight) {
        list[i] = end >>> 0;
      } else {
        list.splice(i, 2);
        continue;
      }
    }
    i += 2;
  }
}

/**
 * Removes what lies below `upto`; returns its size in sequence numbers.
 * Called per ACK: compacts in place (no splice, which makes an array), and
 * an emptied list keeps one empty range [end, end) instead of its length
 * dropping to 0, which would give its storage back only to allocate it again
 * at the next segment (a snaplen-cut capture does this for every ACK).
 */
export function takeBelow(list: number[], upto: number): number {
  let n = 0;
  let w = 0;
  let lastEnd = 0;
  for (let i = 0; i < list.length; i += 2) {
    const rs = list[i];
    const re = list[i + 1];
    if (seqLt(rs, upto)) {
      const to = seqLt(upto, re) ? upto : re;
      n += seqDiff(to, rs);
      lastEnd = re;
      if (to === re) continue;
      list[w] = to >>> 0;
    } else list[w] = rs;
    list[w + 1] = re;
    w += 2;
  }
  if (w === 0 && list.length > 0) {
    // Empty: one [end, end), which the next adjacent range merges into.
    list[0] = list[1] = lastEnd;
    w = 2;
  }
  if (list.length !== w) list.length = w;
  return n;
}
