import { formatDuration } from './format-time';
import type { IdleFingerprint } from './report-types';

/**
 * The distribution of idle time before the first FIN for one closer. When
 * most closes happen after the same idle time, a timer (keep-alive timeout)
 * is closing the connections, not the application.
 */
/** Fewer closes than this cannot tell a timer from chance. */
export const MIN_FOR_TIMER = 3;

export function idleFingerprint(closer: string, idleS: readonly number[]): IdleFingerprint {
  const s = [...idleS].sort((a, b) => a - b);
  const n = s.length;
  const med = n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const tol = Math.max(1, med * 0.05);
  let matching = 0;
  let matchMin = Infinity;
  let matchMax = -Infinity;
  for (const x of s) {
    if (Math.abs(x - med) > tol) continue;
    matching++;
    if (x < matchMin) matchMin = x;
    if (x > matchMax) matchMax = x;
  }
  return {
    closer,
    total: n,
    medianS: med,
    minS: s[0],
    maxS: s[n - 1],
    matching,
    toleranceS: tol,
    matchMinS: matchMin,
    matchMaxS: matchMax,
    timer: n >= MIN_FOR_TIMER && med >= 1 && matching / n >= 0.8,
  };
}

/** "in 18 of 18 cases", or "in the one case seen". */
function cases(fp: IdleFingerprint): string {
  return fp.total === 1 ? 'in the one case seen' : `in ${fp.matching} of ${fp.total} cases`;
}

/**
 * "server 10.0.0.5:80 closes after 65.0 s idle in 18 of 18 cases (65.000–65.024 s)";
 * `closer` is the subject. The range is the observed spread of the matching
 * closes, shown to the millisecond when it is under a second wide. A close
 * within a second of the last data is not an idle timer and says so.
 */
export function describeIdle(fp: IdleFingerprint): string {
  const verb = /clients$/.test(fp.closer) ? 'close' : 'closes';
  if (fp.medianS < 1 && fp.matching / fp.total >= 0.8) {
    return `${fp.closer} ${verb} ${formatDuration(fp.medianS)} after the last data${fp.total === 1 ? '' : ' (median)'} ${cases(fp)}: no idle timer`;
  }
  const range = idleRange(fp);
  return `${fp.closer} ${verb} after ${formatDuration(fp.medianS)} idle ${cases(fp)}${range ? ` (${range})` : ''}`;
}

/** The observed spread of the matching closes; empty when there is nothing to spread (one value). */
function idleRange(fp: IdleFingerprint): string {
  const lo = fp.matchMinS;
  const hi = fp.matchMaxS;
  if (hi - lo < 1 && hi < 120) return lo.toFixed(3) === hi.toFixed(3) ? (fp.total === 1 ? '' : `all ${lo.toFixed(3)} s`) : `${lo.toFixed(3)}–${hi.toFixed(3)} s`;
  return `${formatDuration(lo)} – ${formatDuration(hi)}`;
}
