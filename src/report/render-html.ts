import { formatDuration } from './format-time';
import type { ReportFigures, SampleLadder } from './figures/figures';
import { closeWaitChart, idleChart, serviceTimelineChart, timelineChart, type ChartSpec } from './html/charts';
import { esc } from './html/html-escape';
import { GAP_S, ladderSvg } from './html/ladder-svg';
import { PAGE_STYLE } from './html/page-style';
import { vegaLiteSvg } from './html/vega-svg';
import type { Finding, Report } from './model';
import { commandLines, nextCommand, packetsCommand } from './render-text';
import { captureLines, closeWaitLine, evidenceFlows, noFindingsLine, omittedLine, sampleRolesNote, thresholdsLine } from './report-sentences';

/**
 * `wirestate report --format html`: one self-contained page (inline CSS and
 * SVG, no script, nothing fetched) with the same verdict and findings as the
 * text and JSON reports, read from the same report model, plus charts
 * (Vega-Lite rendered to SVG here) and a ladder diagram of each finding's
 * sample flow. Marks carry data attributes and ARIA labels so that what the
 * page shows can be read back and checked.
 */
/** Idle-before-FIN histograms drawn, at most (one per closer, most closes first). */
export const MAX_IDLE_CHARTS = 10;

export async function renderHtml(r: Report, fig: ReportFigures): Promise<string> {
  const c = r.capture;
  const sev = r.summary.severity;
  const charts: string[] = [];
  const tl = fig.timeline ? timelineChart(fig.timeline) : null;
  if (tl) charts.push(await chartFigure(tl));
  else charts.push(`<p class="note" data-chart-missing="state-timeline">No state timeline: ${fig.timeline ? 'no endpoint was in a counted state during the capture.' : 'not available in this build.'}</p>`);
  const perService = fig.timeline ? serviceTimelineChart(fig.timeline) : null;
  if (perService) charts.push(await chartFigure(perService));
  // The closers with the most closes first; at most MAX_IDLE_CHARTS of them.
  const idle = [...fig.idle].sort((x, y) => y.values.length - x.values.length);
  for (const [i, h] of idle.slice(0, MAX_IDLE_CHARTS).entries()) charts.push(await chartFigure(idleChart(h, i)));
  if (idle.length > MAX_IDLE_CHARTS) {
    charts.push(`<p class="note">Idle-time histograms are drawn for the ${MAX_IDLE_CHARTS} closers with the most closes; ${idle.length - MAX_IDLE_CHARTS} more closers are not drawn.</p>`);
  }
  if (fig.idle.length === 0) charts.push(`<p class="note" data-chart-missing="idle-before-fin">No idle-before-FIN histogram: no connection was closed with a FIN after a known idle time.</p>`);
  const cw = closeWaitChart(fig.closeWait);
  if (cw) charts.push(await chartFigure(cw));
  else charts.push(`<p class="note" data-chart-missing="close-wait-durations">No CLOSE_WAIT chart: no endpoint was in CLOSE_WAIT during the capture.</p>`);

  const ladders = new Map(fig.ladders.map((l) => [l.finding, l]));
  const sources = (c.files.length > 0 ? c.files.map((f) => f.path) : [c.source]).map((x) => (x === '-' ? '- (standard input)' : x));
  const cwLine = closeWaitLine(r);
  const omitted = omittedLine(r);
  const body = [
    `<h1>wirestate report</h1>`,
    `<p class="meta">Capture ${c.id} of ${r.captures}${r.database ? ` in <code>${esc(r.database)}</code>` : ''}${c.completed ? '' : ' (still running: states as of the last snapshot written)'}</p>`,
    ...sources.map((s) => `<p class="meta">source: <code>${esc(s)}</code></p>`),
    ...captureLines(r).map((l) => `<p class="meta">${esc(l)}</p>`),
    `<div class="verdict sev-${sev}" data-severity="${sev}"><span class="badge ${sev}">${sev.toUpperCase()}</span> <span class="level">VERDICT</span>`,
    `<p data-verdict>${esc(r.summary.verdict)}</p>${cwLine ? `<p>${esc(cwLine)}</p>` : ''}</div>`,
    `<dl class="counts">`,
    count('flows', 'connections (flows)', r.summary.flows),
    count('closeWait', 'in CLOSE_WAIT at capture end', r.summary.closeWait),
    count('finWait2CloseWaitPairs', 'of them paired with FIN_WAIT_2', r.summary.finWait2CloseWaitPairs),
    count('findings', 'findings shown', r.findings.length),
    ...Object.entries(r.summary.byCloseKind).map(([k, n]) => count(`closeKind.${k}`, `ended as ${k}`, n)),
    `</dl>`,
    `<h2>Charts</h2>`,
    ...charts,
    `<h2>Findings</h2>`,
    r.findings.length === 0 ? `<p>${esc(noFindingsLine(r))}</p>` : '',
    ...r.findings.map((f, i) => findingHtml(f, i, r, ladders.get(i))),
    omitted ? `<p>${esc(omitted)}</p>` : '',
    fig.laddersOmitted > 0 ? `<p class="note">Ladder diagrams are drawn for the first ${fig.ladders.length} findings with a sample flow; ${fig.laddersOmitted} more are not drawn.</p>` : '',
    `<footer><p>${esc(thresholdsLine(r))}</p>` +
      `<p>Made by wirestate from the database only (the ladders re-read the capture file). Charts: Vega-Lite, rendered to SVG when the report was written; the page runs no script and loads nothing.</p></footer>`,
  ];
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<title>${esc(`wirestate report: ${sources.join(', ')}`)}</title><style>${PAGE_STYLE}</style></head>\n` +
    `<body><main>\n${body.filter((x) => x !== '').join('\n')}\n</main></body></html>\n`
  );
}

function count(key: string, label: string, n: number): string {
  return `<dt>${esc(label)}</dt><dd data-count="${esc(key)}">${n}</dd>`;
}

async function chartFigure(ch: ChartSpec): Promise<string> {
  const svg = await vegaLiteSvg(ch.spec);
  return (
    `<figure data-chart="${esc(ch.id)}" data-series="${esc(JSON.stringify(ch.series))}" aria-label="${esc(ch.title)}">` +
    `${svg}<figcaption>${esc(ch.caption)}</figcaption></figure>`
  );
}

function findingHtml(f: Finding, i: number, r: Report, ladder: SampleLadder | undefined): string {
  const facts = f.facts as { count?: unknown };
  const parts = [
    `<section class="finding" id="finding-${i + 1}" data-kind="${f.kind}" data-severity="${f.severity}"${typeof facts.count === 'number' ? ` data-count="${facts.count}"` : ''}>`,
    `<h3>[${i + 1}] <span class="badge ${f.severity}">${f.severity.toUpperCase()}</span> ${esc(f.title)}</h3>`,
    f.details.length ? `<ul>${f.details.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>` : '',
    `<p class="means"><b>What it means:</b> ${esc(f.implication)}</p>`,
  ];
  if (f.evidence.flowIds.length > 0) {
    parts.push(`<p>Evidence: ${esc(evidenceFlows(f))}</p>`);
    const next = nextCommand(f, r);
    if (next) parts.push(`<p>List them:</p><pre>${esc(commandLines(next, '').join('\n'))}</pre>`);
  }
  const s = f.evidence.sample;
  if (s) {
    parts.push(`<p>Sample flow ${s.flowId}: <code>${esc(s.orig)} → ${esc(s.resp)}</code>, history <code>${esc(s.history)}</code>, conn_state ${esc(s.connState)}, close ${esc(s.closeKind)}</p>`);
    const why = sampleRolesNote(s);
    if (why) parts.push(`<p>${esc(why)}</p>`);
    if (ladder) parts.push(ladderHtml(ladder));
    const cmd = packetsCommand(s, r);
    if (cmd) parts.push(`<p>Its packets:</p><pre>${esc(cmd.join(' '))}</pre>`);
  }
  parts.push('</section>');
  return parts.filter((x) => x !== '').join('\n');
}

function ladderHtml(l: SampleLadder): string {
  const p = l.packets;
  const notes: string[] = [];
  if (p.missing !== null) notes.push(`Packets not shown: ${p.missing}. The diagram shows the state changes stored in the database only.`);
  if (p.more > 0) notes.push(`The first ${p.packets.length} packets are drawn; ${p.more} more are not.`);
  return (
    `<figure data-ladder="${l.flowId}">` +
    notes.map((n) => `<p class="note">${esc(n)}</p>`).join('') +
    ladderSvg(l) +
    `<figcaption>Ladder diagram: time runs down, one row per packet (not to scale; pauses of ${formatDuration(GAP_S)} or more are marked). ` +
    `seq and ack are relative to each side's first sequence number; len is payload bytes. States are written beside each side's line where they change.</figcaption></figure>`
  );
}
