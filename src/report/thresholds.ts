import { formatDuration } from './format-time';
import type { Severity } from './model';

export interface Thresholds {
  /** Warning when a group holds more than this many CLOSE_WAIT connections. */
  warnCount: number;
  /** Warning when the oldest CLOSE_WAIT in a group is stuck longer than this, seconds. */
  warnAgeS: number;
  /** Critical when the oldest CLOSE_WAIT in a group is stuck longer than this, seconds. */
  critAgeS: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { warnCount: 100, warnAgeS: 300, critAgeS: 1800 };

/** The thresholds given, the defaults for the rest. */
export function resolveThresholds(t: Partial<Thresholds> = {}): Thresholds {
  return {
    warnCount: t.warnCount ?? DEFAULT_THRESHOLDS.warnCount,
    warnAgeS: t.warnAgeS ?? DEFAULT_THRESHOLDS.warnAgeS,
    critAgeS: t.critAgeS ?? DEFAULT_THRESHOLDS.critAgeS,
  };
}

export const SEVERITY_RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };

/** The severity of a CLOSE_WAIT group: how many, and how long the oldest has been stuck. */
export function severityFor(count: number, oldestS: number, t: Thresholds): { severity: Severity; why: string } {
  if (oldestS > t.critAgeS) return { severity: 'critical', why: `oldest stuck longer than ${formatDuration(t.critAgeS)}` };
  const reasons: string[] = [];
  if (count > t.warnCount) reasons.push(`more than ${t.warnCount} connections`);
  if (oldestS > t.warnAgeS) reasons.push(`oldest stuck longer than ${formatDuration(t.warnAgeS)}`);
  if (reasons.length > 0) return { severity: 'warning', why: reasons.join(' and ') };
  return { severity: 'info', why: `below the thresholds (${t.warnCount} connections, ${formatDuration(t.warnAgeS)})` };
}
