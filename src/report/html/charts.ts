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

interface StepSeries {
  /** The series' name: the legend entry, and the start of each point's description. */
  key: string;
  color: string;
  /** Line width (default 2): wider lines stay visible under a narrower one with the same counts. */
  width?: number;
  points: TimelineFigure['series'][number]['points'];
}

/** Counts over the capture as step lines (min–max band per bucket when bucketed), a dot per stored point, capture start and end marked. */
function stepChart(id: string, title: string, legend: string, tl: TimelineFigure, series: StepSeries[], caption: string): ChartSpec {
  const dur = tl.endTs - tl.startTs;
  // A bucket's count is the count at its end.
  const at = (t: number): number => Math.min(tl.bucketS === null ? t : t + tl.bucketS, tl.endTs) - tl.startTs;
  const points: { t: number; count: number; s: string; d: string }[] = [];
  const lines: { t: number; count: number; s: string }[] = [];
  const bands: { t: number; min: number; max: number; s: string }[] = [];
  const counts: Record<string, number> = {};
  for (const s of series) {
    counts[s.key] = s.points.length;
    for (const p of s.points) {
      const t = at(p.t);
      points.push({ t, count: p.count, s: s.key, d: `${s.key}; t=${t.toFixed(3)} s; count=${p.count}` });
      lines.push({ t, count: p.count, s: s.key });
      if (tl.bucketS !== null) bands.push({ t, min: p.min, max: p.max, s: s.key });
    }
    // The last count holds until capture end.
    const last = s.points[s.points.length - 1];
    if (at(last.t) < dur) lines.push({ t: dur, count: last.count, s: s.key });
  }
  const color = {
    field: 's',
    type: 'nominal' as const,
    title: legend,
    scale: { domain: series.map((s) => s.key), range: series.map((s) => s.color) },
    legend: { orient: 'bottom' as const, columns: 5, labelLimit: 240, symbolOpacity: 1 },
  };
  const x = { field: 't', type: 'quantitative' as const, title: `seconds since capture start (${formatTs(tl.startTs)})`, scale: { domain: [0, dur], nice: false } };
  const y = { field: 'count', type: 'quantitative' as const, title: 'endpoints', axis: { tickMinStep: 1, format: 'd' } };
  const spec: TopLevelSpec = {
    width: WIDTH,
    height: 220,
    title,
    layer: [
      ...(bands.length
        ? [{ data: { values: bands }, mark: { type: 'area' as const, interpolate: 'step-after' as const, opacity: 0.18, aria: false }, encoding: { x, y: { field: 'min', type: 'quantitative' as const }, y2: { field: 'max' }, color } }]
        : []),
      // Wide lines first, so that narrower ones with the same counts are drawn on top of them.
      ...[...new Set(series.map((s) => s.width ?? 2))]
        .sort((p, q) => q - p)
        .map((w) => ({
          data: { values: lines.filter((l) => (series.find((s) => s.key === l.s)!.width ?? 2) === w) },
          mark: { type: 'line' as const, interpolate: 'step-after' as const, strokeWidth: w, aria: false },
          encoding: { x, y, color },
        })),
      {
        data: { values: points },
        // Bucketed, hundreds of dots would only thicken the line: they stay in the SVG (labelled) but are not painted.
        mark: { type: 'point', filled: true, size: 14, opacity: tl.bucketS === null ? 1 : 0 },
        encoding: { x, y, color, description: { field: 'd' } },
      },
      {
        data: { values: [{ t: 0, label: 'capture start' }, { t: dur, label: 'capture end' }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [4, 3], color: '#444', aria: false }, encoding: { x: { field: 't', type: 'quantitative' } } },
          // Each label inside the plot, beside its line.
          ...(['capture start', 'capture end'] as const).map((label) => ({
            transform: [{ filter: { field: 'label', equal: label } }],
            mark: { type: 'text' as const, align: label === 'capture start' ? ('left' as const) : ('right' as const), dx: label === 'capture start' ? 4 : -4, baseline: 'top' as const, fontSize: 10, color: '#444', aria: false },
            encoding: { x: { field: 't', type: 'quantitative' as const }, y: { value: 3 }, text: { field: 'label' } },
          })),
        ],
      },
    ],
  };
  const resolution = tl.bucketS === null ? 'at every change' : `at the end of each ${formatDuration(tl.bucketS)} bucket (the shaded band spans the lowest and highest count within it)`;
  return { id, title, series: counts, spec, caption: `${caption} Counted ${resolution}; dashed lines mark the capture's start and end.` };
}

const WIDE = new Set(['FIN_WAIT_1', 'FIN_WAIT_2', 'TIME_WAIT']);

/** Endpoints per state over the capture, one line per state. */
export function timelineChart(tl: TimelineFigure): ChartSpec | null {
  const series = STATE_COLORS.flatMap(([state, color]) => {
    const s = tl.series.find((x) => x.group === 'all' && x.state === state);
    // The closing side's states are drawn wide: CLOSE_WAIT on one side is FIN_WAIT_2 on the other, count for count.
    return s && s.points.some((p) => p.count > 0) ? [{ key: state, color, width: WIDE.has(state) ? 5 : 2, points: s.points }] : [];
  });
  if (series.length === 0) return null;
  return stepChart(
    'state-timeline',
    'Endpoints in each TCP state over the capture',
    'state',
    tl,
    series,
    'Each line counts the endpoints (each side of a connection separately) in one state. A CLOSE_WAIT line that only climbs is a leak; one that falls back is churn. ' +
      'FIN_WAIT and TIME_WAIT lines are drawn wide, so they show around a line with the same counts (the peer of each CLOSE_WAIT endpoint is usually in FIN_WAIT_2).',
  );
}

const GROUP_COLORS = ['#d62728', '#3366aa', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** CLOSE_WAIT per service (the server side of the flows), when more than one service had some: whose connections pile up. */
export function serviceTimelineChart(tl: TimelineFigure): ChartSpec | null {
  const series = tl.series
    .filter((s) => s.group !== 'all' && s.state === 'CLOSE_WAIT' && s.points.some((p) => p.count > 0))
    .slice(0, GROUP_COLORS.length)
    .map((s, i) => ({ key: `${s.group}`, color: GROUP_COLORS[i], points: s.points }));
  if (series.length < 2) return null;
  return stepChart(
    'close-wait-per-service',
    'Endpoints in CLOSE_WAIT over the capture, per service',
    'service',
    tl,
    series,
    `Each line counts the endpoints in CLOSE_WAIT on the connections of one service (its server address and port), either side; at most ${GROUP_COLORS.length} services, those with the highest peaks.`,
  );
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
        xOffset: { field: 'status', scale: { domain: [LEFT, STUCK] } },
        // Logarithmic: a handful of stuck sockets stays visible beside thousands of orderly closes.
        y: { field: 'count', type: 'quantitative', title: 'endpoints (log scale)', scale: { type: 'symlog' }, axis: { format: 'd' } },
        color: { field: 'status', type: 'nominal', title: null, scale: { domain: [LEFT, STUCK], range: ['#8fbc8f', '#d62728'] }, legend: { orient: 'bottom', labelLimit: 420 } },
        description: { field: 'd' },
      },
    },
    caption:
      'Every stay in CLOSE_WAIT of the capture: the passive closer of every orderly close passes through it, usually for microseconds. ' +
      'Green bars are the endpoints that left CLOSE_WAIT; red bars are endpoints still waiting for their application to close the socket when the capture ended: their time so far, a lower bound.',
  };
}
