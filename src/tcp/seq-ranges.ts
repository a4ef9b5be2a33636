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

/** Removes what lies below `upto`; returns its size in sequence numbers. */
export function takeBelow(list: number[], upto: number): number {
  let n = 0;
  for (let i = 0; i < list.length; ) {
    const rs = list[i];
    const re = list[i + 1];
    if (!seqLt(rs, upto)) {
      i += 2;
      continue;
    }
    const to = seqLt(upto, re) ? upto : re;
    n += seqDiff(to, rs);
    if (to === re) {
      list.splice(i, 2);
      continue;
    }
    list[i] = to >>> 0;
    i += 2;
  }
  return n;
}
