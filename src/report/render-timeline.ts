import type { StateSeries, StateTimeline, TimelinePoint } from '../store/state-timeline';
import { formatDuration, formatSpan } from './format-time';
import { renderRows, type Cell } from './render-rows';
import { wrap } from './text-wrap';

/**
 * The state timeline for people (one sparkline row per state, 80 columns)
 * and for tools (CSV, one row per point: gnuplot, spreadsheets).
 */

const BLOCKS = '▁▂▃▄▅▆▇█';
/** Columns: state 12, space, sparkline 40, '|', first 5, peak 6, at 9, last 6 = 80. */
export const SPARK_WIDTH = 40;

/**
 * The highest count of a series within each of `width` equal slices of
 * [startTs, endTs]: the level carried into a slice counts, and a bucket
 * counts with its max in every slice it overlaps.
 */
export function columnPeaks(points: readonly TimelinePoint[], startTs: number, endTs: number, bucketS: number | null, width: number): number[] {
  const out = new Array<number>(width).fill(0);
  const span = Math.max(endTs - startTs, 1e-6);
  const col = (t: number) => Math.min(width - 1, Math.max(0, Math.floor(((t - startTs) / span) * width)));
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    // Exact: the count holds until the next change (or capture end); bucketed: over the bucket.
    const until = bucketS === null ? (i + 1 < points.length ? points[i + 1].t : endTs) : Math.min(p.t + bucketS, endTs);
    const a = col(p.t);
    // A level that lasts up to the very start of the next slice does not reach into it.
    const b = until > p.t ? col(until - Math.min(1e-6, (until - p.t) / 2)) : a;
    for (let c = a; c <= b; c++) if (p.max > out[c]) out[c] = p.max;
  }
  return out;
}

/** One character per column: blank for 0, else ▁ (lowest) to █ (the row's peak). */
export function sparkline(values: readonly number[], peak: number): string {
  return values.map((v) => (v <= 0 || peak <= 0 ? ' ' : BLOCKS[Math.min(7, Math.max(0, Math.ceil((v / peak) * 8) - 1))])).join('');
}

/** Peak of a series and when it was first reached. */
export function seriesPeak(s: StateSeries): { peak: number; at: number } {
  let peak = 0;
  let at = s.points.length > 0 ? s.points[0].t : 0;
  for (const p of s.points) {
    if (p.max > peak) {
      peak = p.max;
      at = p.t;
    }
  }
  return { peak, at };
}

/** "+45.2s", "+12m05s", "+3h12m": an instant as time since the capture start. */
export function formatOffset(s: number): string {
  if (s < 100) return `+${s.toFixed(1)}s`;
  const t = Math.round(s);
  if (t < 3600) return `+${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  if (t < 100 * 3600) return `+${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
  return `+${Math.floor(t / 86400)}d${String(Math.floor((t % 86400) / 3600)).padStart(2, '0')}h`;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export function renderTimelineText(tl: StateTimeline, source?: string): string {
  const dur = tl.endTs - tl.startTs;
  const lines: string[] = [];
  const res = tl.bucketS === null ? 'exact change points' : `buckets of ${formatDuration(tl.bucketS)}`;
  lines.push(`wirestate timeline: capture ${tl.captureId}`);
  if (source !== undefined) lines.push(...wrap(source === '-' ? '- (standard input)' : source, 80, '    ', '  source: '));
  if (!(dur >= 0)) {
    lines.push('  no packets yet: nothing to show');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`  ${formatSpan(tl.startTs, tl.endTs)} (${formatDuration(dur)}); ${res}`);
  lines.push(`  endpoints per state; one column = ${formatDuration(dur / SPARK_WIDTH)}, its highest count`);
  if (tl.series.length === 0) {
    lines.push('  no endpoint was in any of these states');
    return `${lines.join('\n')}\n`;
  }
  lines.push('');
  const axis = `start${' '.repeat(SPARK_WIDTH - 8)}end`;
  lines.push(`${pad('state', 12)} ${axis}|${lpad('first', 5)}${lpad('peak', 6)}${lpad('at', 9)}${lpad('last', 6)}`);
  let group: string | null = null;
  for (const s of tl.series) {
    if (tl.group !== 'all' && s.group !== group) {
      group = s.group;
      lines.push(`${tl.group} ${s.group}`);
    }
    const { peak, at } = seriesPeak(s);
    const cols = columnPeaks(s.points, tl.startTs, tl.endTs, tl.bucketS, SPARK_WIDTH);
    const first = s.points.length > 0 ? s.points[0].count : 0;
    const last = s.points.length > 0 ? s.points[s.points.length - 1].count : 0;
    lines.push(
      `${pad(s.state, 12)} ${sparkline(cols, peak)}|${lpad(String(first), 5)}${lpad(String(peak), 6)}${lpad(peak > 0 ? formatOffset(at - tl.startTs) : '-', 9)}${lpad(String(last), 6)}`,
    );
  }
  if (tl.groupsOmitted > 0) lines.push(`(${tl.groupsOmitted} more ${tl.group === 'host' ? 'hosts' : 'services'} with lower peaks not shown; --max-groups N)`);
  return `${lines.join('\n')}\n`;
}

export const TIMELINE_CSV_COLUMNS = ['capture_id', 'group_kind', 'group', 'state', 'ts', 'offset_s', 'count', 'min', 'max'];

/** One row per point, t as epoch seconds and as seconds since capture start. */
export function renderTimelineCsv(tl: StateTimeline): string {
  const rows: Cell[][] = [];
  for (const s of tl.series) {
    for (const p of s.points) {
      rows.push([tl.captureId, tl.group, s.group, s.state, p.t, Math.round((p.t - tl.startTs) * 1e6) / 1e6, p.count, p.min, p.max]);
    }
  }
  return renderRows(TIMELINE_CSV_COLUMNS, rows, 'csv');
}
