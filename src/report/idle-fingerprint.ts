import { formatDuration } from './format-time';
import type { IdleFingerprint, IdleMode } from './model';

/**
 * The distribution of idle time before the first FIN for one closer. When
 * most closes happen after the same idle time, a timer (keep-alive timeout)
 * is closing the connections, not the application.
 */
/** Fewer closes than this cannot tell a timer from chance. */
export const MIN_FOR_TIMER = 3;
/** A cluster of idle times smaller than this share of all closes is not reported as a mode of its own. */
const MODE_SHARE = 0.05;

/**
 * Clusters of similar idle times (sorted input): a cluster takes every value
 * within max(1 s, 5 %) of its smallest one. Those with at least MIN_FOR_TIMER
 * closes and 5 % of all, largest first. A server that closes right after the
 * response (Connection: close) and on its keep-alive timer otherwise has two.
 */
function idleModes(s: readonly number[]): IdleMode[] {
  const out: IdleMode[] = [];
  let i = 0;
  while (i < s.length) {
    const start = s[i];
    const lim = start + Math.max(1, start * 0.05);
    let j = i;
    while (j < s.length && s[j] <= lim) j++;
    const n = j - i;
    if (n >= MIN_FOR_TIMER && n >= MODE_SHARE * s.length) {
      const mid = i + (n - 1) / 2;
      const med = n % 2 === 1 ? s[mid] : (s[Math.floor(mid)] + s[Math.ceil(mid)]) / 2;
      out.push({ count: n, medianS: med, minS: s[i], maxS: s[j - 1] });
    }
    i = j;
  }
  return out.sort((a, b) => b.count - a.count || a.medianS - b.medianS);
}

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
  const modes = idleModes(s);
  return {
    closer,
    total: n,
    modes,
    timerMode: modes.find((m) => m.medianS >= 1) ?? null,
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
  // "its clients", "24 clients of 10.0.0.1:80": plural subjects.
  const verb = /(^|\s)clients(\s|$)/.test(fp.closer) ? 'close' : 'closes';
  // Two ways of closing (right after the data, and after an idle timer): both, with their counts,
  // so the fingerprint does not deny the timer another finding attributes closes to.
  if (fp.modes.length >= 2) {
    const server = /^server /.test(fp.closer);
    const phrase = (m: IdleMode, first: boolean): string => {
      const of = first ? `in ${m.count} of ${fp.total} cases` : `in ${m.count}`;
      if (m.medianS < 1) {
        return `right after the last data ${of} (median ${formatDuration(m.medianS)}: the application closes${server ? ', e.g. Connection: close or the client asked' : ''})`;
      }
      const range = modeRange(m);
      return `after ${formatDuration(m.medianS)} idle ${of} (${range ? `${range}: ` : ''}${server ? 'its keep-alive timer' : 'an idle timer'})`;
    };
    const [a, b] = fp.modes;
    const rest = fp.total - a.count - b.count;
    return `${fp.closer} ${verb} ${phrase(a, true)}, and ${phrase(b, false)}${rest > 0 ? `; ${rest} other${rest === 1 ? '' : 's'} vary` : ''}`;
  }
  if (fp.medianS < 1 && fp.matching / fp.total >= 0.8) {
    return `${fp.closer} ${verb} ${formatDuration(fp.medianS)} after the last data${fp.total === 1 ? '' : ' (median)'} ${cases(fp)}: no idle timer`;
  }
  if (fp.matching === 0) {
    // No close near the median (e.g. two closes far apart): no common idle time to name.
    return `${fp.closer} ${verb} after varying idle times in ${fp.total} cases (${formatDuration(fp.minS)} – ${formatDuration(fp.maxS)})`;
  }
  const range = idleRange(fp);
  return `${fp.closer} ${verb} after ${formatDuration(fp.medianS)} idle ${cases(fp)}${range ? ` (${range})` : ''}`;
}

function modeRange(m: IdleMode): string {
  if (m.maxS - m.minS < 1 && m.maxS < 120) return m.minS.toFixed(3) === m.maxS.toFixed(3) ? '' : `${m.minS.toFixed(3)}–${m.maxS.toFixed(3)} s`;
  return `${formatDuration(m.minS)} – ${formatDuration(m.maxS)}`;
}

/** The observed spread of the matching closes; empty when there is nothing to spread (one value). */
function idleRange(fp: IdleFingerprint): string {
  const lo = fp.matchMinS;
  const hi = fp.matchMaxS;
  if (hi - lo < 1 && hi < 120) return lo.toFixed(3) === hi.toFixed(3) ? (fp.total === 1 ? '' : `all ${lo.toFixed(3)} s`) : `${lo.toFixed(3)}–${hi.toFixed(3)} s`;
  return `${formatDuration(lo)} – ${formatDuration(hi)}`;
}
