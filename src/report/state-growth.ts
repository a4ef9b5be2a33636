import { median } from './stats';

/**
 * How a count of endpoints in one state moves over a capture: the pure
 * arithmetic behind the report's growth lines (CLOSE_WAIT growing or
 * draining, how long endpoints stayed, TIME_WAIT peaks against the
 * ephemeral port range). Times in epoch microseconds; `to` NaN = still in
 * the state at capture end.
 */

export interface Stay {
  fromUs: number;
  toUs: number;
}

export interface Step {
  tUs: number;
  /** Endpoints in the state just after tUs. */
  count: number;
}

/** The count over time as exact change points (the first at startUs), from the stays of one group. */
export function levelSteps(stays: readonly Stay[], startUs: number): Step[] {
  const ev: [number, number][] = [];
  for (const s of stays) {
    ev.push([s.fromUs, 1]);
    if (s.toUs === s.toUs) ev.push([s.toUs, -1]);
  }
  ev.sort((a, b) => a[0] - b[0]);
  const steps: Step[] = [{ tUs: startUs, count: 0 }];
  let c = 0;
  for (let i = 0; i < ev.length; ) {
    const t = ev[i][0];
    while (i < ev.length && ev[i][0] === t) c += ev[i++][1];
    const last = steps[steps.length - 1];
    if (last.tUs === t || t <= startUs) last.count = c;
    else if (last.count !== c) steps.push({ tUs: t, count: c });
  }
  return steps;
}

/** The count at instant tUs. */
export function countAt(steps: readonly Step[], tUs: number): number {
  let c = 0;
  for (const s of steps) {
    if (s.tUs > tUs) break;
    c = s.count;
  }
  return c;
}

/** The highest count and the first instant it was reached. */
export function peakOf(steps: readonly Step[]): { peak: number; atUs: number } {
  let peak = 0;
  let atUs = steps.length > 0 ? steps[0].tUs : 0;
  for (const s of steps) {
    if (s.count > peak) {
      peak = s.count;
      atUs = s.tUs;
    }
  }
  return { peak, atUs };
}

export type GrowthVerdict = 'growing' | 'steady churn' | 'draining';

export interface Growth {
  /** Count at capture start and end. */
  startCount: number;
  endCount: number;
  /** (end - start) per minute of capture. */
  netPerMin: number;
  peak: number;
  /** First instant at the peak (epoch s). */
  peakTs: number;
  /** Change over the last quarter of the capture. */
  lastQuarterChange: number;
  /** It had risen, and no longer rises in the last quarter. */
  levelsOff: boolean;
  /**
   * growing: still rising in the last quarter (by more than 5 % of the
   * peak); draining: falling there by more than that; steady churn: level
   * within that.
   */
  verdict: GrowthVerdict;
  /** Endpoints that entered the state, and that left it, within the capture. */
  entered: number;
  left: number;
}

/** Growth of one group's count over [startUs, endUs]. */
export function growthOf(stays: readonly Stay[], startUs: number, endUs: number): Growth {
  const steps = levelSteps(stays, startUs);
  const spanUs = Math.max(endUs - startUs, 1);
  const startCount = countAt(steps, startUs);
  const endCount = countAt(steps, endUs);
  const { peak, atUs } = peakOf(steps);
  const quarter = countAt(steps, endUs - spanUs / 4);
  const lastQuarterChange = endCount - quarter;
  const tol = 0.05 * peak;
  const verdict: GrowthVerdict = lastQuarterChange > tol ? 'growing' : lastQuarterChange < -tol ? 'draining' : 'steady churn';
  let left = 0;
  for (const s of stays) if (s.toUs === s.toUs && s.toUs <= endUs) left++;
  return {
    startCount,
    endCount,
    netPerMin: (endCount - startCount) / (spanUs / 60e6),
    peak,
    peakTs: atUs / 1e6,
    lastQuarterChange,
    levelsOff: peak > 0 && quarter > 0 && lastQuarterChange <= tol,
    verdict,
    entered: stays.length,
    left,
  };
}

export interface DurationStats {
  count: number;
  medianS: number;
  p95S: number;
  maxS: number;
  /** How many lasted longer than the warning / critical age. */
  overWarn: number;
  overCrit: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Median, p95 and max of durations (s), with how many exceed the two age thresholds. Null when there are none. */
export function durationStats(durationsS: readonly number[], warnAgeS: number, critAgeS: number): DurationStats | null {
  if (durationsS.length === 0) return null;
  const d = [...durationsS].sort((a, b) => a - b);
  return {
    count: d.length,
    medianS: median(d),
    p95S: percentile(d, 95),
    maxS: d[d.length - 1],
    overWarn: d.filter((x) => x > warnAgeS).length,
    overCrit: d.filter((x) => x > critAgeS).length,
  };
}

/** Linux's default ephemeral port range (net.ipv4.ip_local_port_range 32768 60999). */
export const EPHEMERAL_PORTS = { low: 32768, high: 60999, count: 60999 - 32768 + 1 };
