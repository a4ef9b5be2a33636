import type { TopLevelSpec } from 'vega-lite';

/** Looks shared by every chart of the HTML report. */
export const CHART_CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e8e8e8' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', orient: 'right' },
  title: { fontSize: 13, fontWeight: 'bold', anchor: 'start' },
  view: { stroke: '#ccc' },
} as const;

/**
 * A Vega-Lite specification compiled and rendered to SVG in Node: the page
 * then needs no script. Text widths are estimated (no canvas in Node), which
 * only affects label placement slightly. Data must be inline (`values`): no
 * loader is given, so nothing is ever fetched.
 */
export async function vegaLiteSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded only when an HTML report is written: the other commands start without them.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const withConfig = { ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(withConfig).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
