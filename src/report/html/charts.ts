import type { TopLevelSpec } from 'vega-lite';
import { formatDuration, formatTs } from '../format-time';
import type { CloseWaitStay } from '../figures/close-wait-stays';
import type { IdleHistogram, TimelineFigure } from '../figures/figures';
import { plural } from '../wording';

/**
 * The Vega-Lite specifications of the HTML report's charts, from the figure
 * data. Every mark that stands for data carries a description (it becomes the
 * SVG element's aria-label): "series; x; count", so a reader with a screen
 * reader, and the browser tests, can read each point back.
 */

const WIDTH = 680;

/** States in an endpoint's life order, each with a colour that stays the same in every chart. */
const STATE_COLORS: [string, string][] = [
  ['SYN_SENT', '#9ecae9'],
  ['SYN_RECEIVED', '#6baed6'],
  ['ESTABLISHED', '#3366aa'],
  ['FIN_WAIT_1', '#fdae6b'],
  ['FIN_WAIT_2', '#f58518'],
  ['CLOSING', '#b279a2'],
  ['TIME_WAIT', '#888888'],
  ['CLOSE_WAIT', '#d62728'],
  ['LAST_ACK', '#8c564b'],
];

export interface ChartSpec {
  /** data-chart of the figure: what the chart shows. */
  id: string;
  title: string;
  /** Series name → number of point/bar marks drawn for it (the tests compare them with the SVG). */
  series: Record<string, number>;
  spec: TopLevelSpec;
  /** One sentence under the chart: how to read it. */
  caption: string;
}

/** A round step so that [0, max] takes at most `bins` bins: 1, 2 or 5 times a power of ten. */
export function niceStep(max: number, bins: number): number {
  if (!(max > 0)) return 1;
  const raw = max / bins;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Endpoints per state over the capture, one line per state, capture start and end marked. */
export function timelineChart(tl: TimelineFigure): ChartSpec | null {
  const order = STATE_COLORS.map(([s]) => s);
  const series = tl.series.filter((s) => s.group === 'all' && order.includes(s.state) && s.points.some((p) => p.count > 0));
  if (series.length === 0) return null;
  series.sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state));
  const dur = tl.endTs - tl.startTs;
  const points: { t: number; count: number; state: string; d: string }[] = [];
  const lines: { t: number; count: number; state: string }[] = [];
  const counts: Record<string, number> = {};
  for (const s of series) {
    counts[s.state] = s.points.length;
    for (const p of s.points) {
      const t = p.t - tl.startTs;
      points.push({ t, count: p.count, state: s.state, d: `${s.state}; t=${t.toFixed(3)} s; count=${p.count}` });
      lines.push({ t, count: p.count, state: s.state });
    }
    // The last count holds until capture end.
    const last = s.points[s.points.length - 1];
    if (last.t < tl.endTs) lines.push({ t: dur, count: last.count, state: s.state });
  }
  const used = STATE_COLORS.filter(([s]) => counts[s] !== undefined);
  const color = { field: 'state', type: 'nominal' as const, title: 'state', scale: { domain: used.map(([s]) => s), range: used.map(([, c]) => c) } };
  const x = { field: 't', type: 'quantitative' as const, title: `seconds since capture start (${formatTs(tl.startTs)})`, scale: { domain: [0, dur], nice: false } };
  const y = { field: 'count', type: 'quantitative' as const, title: 'endpoints in the state', axis: { tickMinStep: 1, format: 'd' } };
  const spec: TopLevelSpec = {
    width: WIDTH,
    height: 220,
    title: 'Endpoints in each TCP state over the capture',
    layer: [
      { data: { values: lines }, mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 }, encoding: { x, y, color } },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 22 },
        encoding: { x, y, color, description: { field: 'd' } },
      },
      {
        data: { values: [{ t: 0, label: 'capture start' }, { t: dur, label: 'capture end' }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [4, 3], color: '#444' }, encoding: { x: { field: 't', type: 'quantitative' } } },
          {
            mark: { type: 'text', align: 'left', dx: 3, dy: -4, baseline: 'top', fontSize: 10, color: '#444' },
            encoding: { x: { field: 't', type: 'quantitative' }, y: { value: 2 }, text: { field: 'label' } },
          },
        ],
      },
    ],
  };
  return {
    id: 'state-timeline',
    title: 'Endpoints in each TCP state over the capture',
    series: counts,
    spec,
    caption:
      `Each line counts the endpoints (each side of a connection separately) in one state, ` +
      `${tl.bucketS === null ? 'at every change' : `at the end of each ${formatDuration(tl.bucketS)} bucket`}; dashed lines mark the capture's start and end. ` +
      `A CLOSE_WAIT line that only climbs is a leak; one that falls back is churn.`,
  };
}

interface Bin {
  start: number;
  end: number;
  count: number;
}

/**
 * Bins of a round width centred on its multiples (a timer of 65 s fills the
 * bar from 64.5 to 65.5 s instead of straddling two), the first one starting at 0.
 */
function bins(values: readonly number[], maxBins: number): { step: number; bins: Bin[] } {
  const max = values.reduce((a, v) => Math.max(a, v), 0);
  const step = niceStep(max, maxBins);
  const counts = new Map<number, number>();
  for (const v of values) {
    const i = Math.round(v / step);
    counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  return {
    step,
    bins: [...counts.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([i, count]) => ({ start: Math.max(0, (i - 0.5) * step), end: (i + 0.5) * step, count })),
  };
}

/** Idle time before the first FIN of one closer: a keep-alive timer is one tall bar. */
export function idleChart(h: IdleHistogram, index: number): ChartSpec {
  const { step, bins: b } = bins(h.values, 70);
  const rows = b.map((x) => ({ ...x, d: `${h.closer}; ${formatDuration(x.start)}–${formatDuration(x.end)}; count=${x.count}` }));
  const max = rows.length ? rows[rows.length - 1].end : step;
  const title = `Idle time before the first FIN: ${h.closer} (${plural(h.values.length, 'connection')})`;
  return {
    id: `idle-before-fin-${index}`,
    title,
    series: { [h.closer]: rows.length },
    spec: {
      width: WIDTH,
      height: 160,
      title,
      data: { values: rows },
      mark: { type: 'bar', color: '#3366aa', binSpacing: 1 },
      encoding: {
        x: { field: 'start', bin: 'binned', type: 'quantitative', title: `idle time before the FIN, seconds (bars ${formatDuration(step)} wide)`, scale: { domain: [0, max], nice: false } },
        x2: { field: 'end' },
        y: { field: 'count', type: 'quantitative', title: 'connections', axis: { tickMinStep: 1, format: 'd' } },
        description: { field: 'd' },
      },
    },
    caption:
      'How long each connection had been idle (no payload either way) when this side sent its FIN. ' +
      'One tall bar far from zero is an idle timer (a keep-alive timeout); bars near zero are closes right after the last data.',
  };
}

/** Human bins of time in CLOSE_WAIT, with the seeds' 5 min warning and 30 min critical thresholds as edges. */
const STAY_BINS: [number, string][] = [
  [0.001, '< 1 ms'],
  [0.01, '1–10 ms'],
  [0.1, '10–100 ms'],
  [1, '0.1–1 s'],
  [10, '1–10 s'],
  [60, '10 s–1 min'],
  [300, '1–5 min'],
  [1800, '5–30 min'],
  [Infinity, '≥ 30 min'],
];

/** How long endpoints stayed in CLOSE_WAIT: those that left, and those still in it at capture end. */
export function closeWaitChart(stays: readonly CloseWaitStay[]): ChartSpec | null {
  if (stays.length === 0) return null;
  const LEFT = 'left CLOSE_WAIT (closed its side)';
  const STUCK = 'still in CLOSE_WAIT at capture end';
  const counts = new Map<string, number>();
  for (const s of stays) {
    const bin = STAY_BINS.find(([lim]) => s.seconds < lim)![1];
    const k = `${bin}|${s.left ? LEFT : STUCK}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const rows = [...counts.entries()].map(([k, count]) => {
    const [bin, status] = k.split('|');
    return { bin, status, count, d: `${status}; ${bin}; count=${count}` };
  });
  const series: Record<string, number> = {};
  for (const r of rows) series[r.status] = (series[r.status] ?? 0) + 1;
  return {
    id: 'close-wait-durations',
    title: 'Time spent in CLOSE_WAIT',
    series,
    spec: {
      width: WIDTH,
      height: 170,
      title: `Time spent in CLOSE_WAIT (${plural(stays.length, 'endpoint')})`,
      data: { values: rows },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'bin', type: 'ordinal', title: 'time in CLOSE_WAIT (5 min: warning, 30 min: critical)', sort: STAY_BINS.map(([, l]) => l), scale: { domain: STAY_BINS.map(([, l]) => l) }, axis: { labelAngle: 0 } },
        y: { field: 'count', type: 'quantitative', title: 'endpoints', stack: true, axis: { tickMinStep: 1, format: 'd' } },
        color: { field: 'status', type: 'nominal', title: null, scale: { domain: [LEFT, STUCK], range: ['#8fbc8f', '#d62728'] }, legend: { orient: 'bottom', labelLimit: 420 } },
        description: { field: 'd' },
      },
    },
    caption:
      'Every stay in CLOSE_WAIT of the capture: the passive closer of every orderly close passes through it, usually for microseconds. ' +
      'Red bars are endpoints still waiting for their application to close the socket when the capture ended: their time so far, a lower bound.',
  };
}
