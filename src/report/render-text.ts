import { formatDuration, formatTs } from './format-time';
import type { Finding, Report } from './report-types';
import { wrap } from './text-wrap';

const WIDTH = 80;

function tsOf(iso: string | null): number | null {
  return iso === null ? null : Date.parse(iso) / 1000;
}

function flowList(f: Finding): string {
  const ids = f.evidence.flowIds.join(', ');
  return f.evidence.moreFlows > 0 ? `${ids} (+${f.evidence.moreFlows} more)` : ids;
}

function renderFinding(f: Finding, n: number): string[] {
  const out: string[] = [];
  const head = `[${n}] ${f.severity.toUpperCase()}  `;
  out.push(...wrap(f.title, WIDTH, ' '.repeat(4), head));
  for (const d of f.details) out.push(...wrap(d, WIDTH, '      ', '    - '));
  out.push('    What it means:');
  out.push(...wrap(f.implication, WIDTH, '      '));
  if (f.evidence.flowIds.length > 0) {
    const order = f.kind === 'close_wait' ? ' (longest stuck first)' : '';
    out.push(...wrap(`Evidence: flow${f.evidence.flowIds.length > 1 ? 's' : ''}${order} ${flowList(f)}`, WIDTH, '      ', '    '));
  }
  const s = f.evidence.sample;
  if (s) {
    out.push(`    Sample flow ${s.flowId}: ${s.orig} -> ${s.resp}`);
    out.push(`      history ${s.history}, conn_state ${s.connState}, close ${s.closeKind}`);
    if (s.midstream) out.push('      (capture started mid-connection: client/server guessed from the ports)');
    // The same microseconds as the offsets below (and as tcpdump -tttt), so a packet can be found by its time.
    if (s.timeline.length > 0 && s.timeline[0].ts) out.push(`      first transition at ${s.timeline[0].ts.replace('T', ' ').replace('Z', ' UTC')}`);
    for (const t of s.timeline) {
      // Microseconds, as tcpdump prints them: a handshake on a LAN takes less than a millisecond.
      const off = `+${t.offsetS.toFixed(6)}s`.padStart(12);
      const who = t.endpoint === 'orig' ? 'client' : 'server';
      out.push(...wrap(`${off} ${who.padEnd(6)} ${t.from} -> ${t.to}: ${t.cause}`, WIDTH, ' '.repeat(27), '      '));
    }
  }
  return out;
}

/** The report as plain text, at most 80 columns wide. */
export function renderText(r: Report): string {
  const out: string[] = [];
  const c = r.capture;
  out.push(`wirestate report: capture ${c.id} of ${r.captures}${r.database ? ` in ${r.database}` : ''}`);
  if (!c.completed) out.push('  (still running: states as of the last snapshot written)');
  const sources = c.files.length > 0 ? c.files.map((f) => f.path) : [c.source];
  for (const s of sources) out.push(...wrap(s, WIDTH, '    ', '  source: '));
  out.push(
    ...wrap(
      (c.firstTs === null || c.lastTs === null ? 'no packet timestamps' : `${formatTs(tsOf(c.firstTs))} to ${formatTs(tsOf(c.lastTs))}`) +
        (c.durationS !== null ? ` (${formatDuration(c.durationS)})` : '') +
        `, ${c.packets ?? '?'} packets (${c.tcpPackets ?? '?'} TCP), ${c.flows} flows` +
        (c.drops ? `, ${c.drops} dropped by the kernel` : ''),
      WIDTH,
      '    ',
      '  ',
    ),
  );
  const kinds = Object.entries(r.summary.byCloseKind).map(([k, n]) => `${k} ${n}`).join(', ');
  if (kinds) out.push(...wrap(`endings: ${kinds}`, WIDTH, '    ', '  '));
  const anomalies = Object.entries(c.anomalies).map(([k, n]) => `${k} ${n}`).join(', ');
  if (anomalies) out.push(...wrap(`anomalies: ${anomalies}`, WIDTH, '    ', '  '));
  out.push('');
  out.push(`VERDICT (${r.summary.severity.toUpperCase()})`);
  out.push(...wrap(r.summary.verdict, WIDTH, '  '));
  if (r.summary.closeWait > 0) {
    out.push(
      ...wrap(
        `${r.summary.closeWait} connection${r.summary.closeWait === 1 ? '' : 's'} in CLOSE_WAIT at capture end, ` +
          `${r.summary.finWait2CloseWaitPairs} of them paired with FIN_WAIT_2 on the closer.`,
        WIDTH,
        '  ',
      ),
    );
  }
  out.push('');
  if (r.findings.length === 0) {
    out.push(...wrap('No findings: every connection in this capture opened and closed normally or is still open.', WIDTH, ''));
    out.push('');
  } else {
    out.push('FINDINGS');
    r.findings.forEach((f, i) => {
      out.push(...renderFinding(f, i + 1));
      out.push('');
    });
  }
  const omitted = Object.entries(r.summary.omitted);
  if (omitted.length > 0) {
    out.push(...wrap(`Not shown: ${omitted.map(([k, n]) => `${n} more ${k} finding${n === 1 ? '' : 's'}`).join(', ')} (--all shows every finding).`, WIDTH, ''));
    out.push('');
  }
  out.push(
    ...wrap(
      `Thresholds: warning above ${r.thresholds.warnCount} CLOSE_WAIT connections or ${formatDuration(r.thresholds.warnAgeS)} stuck, ` +
        `critical above ${formatDuration(r.thresholds.critAgeS)} (--warn-count, --warn-age, --crit-age).`,
      WIDTH,
      '',
    ),
  );
  return `${out.join('\n')}\n`;
}
