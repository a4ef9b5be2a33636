import { formatDuration, formatSpan } from './format-time';
import type { Finding, Report, SampleFlow } from './model';

/**
 * The report's sentences that are not part of a finding, unwrapped: the text
 * renderer wraps them at 80 columns, the HTML renderer puts them in
 * paragraphs, so both say the same.
 */

function tsOf(iso: string | null): number | null {
  return iso === null ? null : Date.parse(iso) / 1000;
}

/** Under the source: time span, counts, endings, anomalies, connections picked up mid-stream. */
export function captureLines(r: Report): string[] {
  const c = r.capture;
  const out = [
    (c.firstTs === null || c.lastTs === null ? 'no packet timestamps' : formatSpan(tsOf(c.firstTs), tsOf(c.lastTs))) +
      (c.durationS !== null ? ` (${formatDuration(c.durationS)})` : '') +
      `, ${c.packets ?? '?'} packets (${c.tcpPackets ?? '?'} TCP), ${c.flows} flow${c.flows === 1 ? '' : 's'}` +
      (c.drops ? `, ${c.drops} dropped by the kernel` : ''),
  ];
  const kinds = Object.entries(r.summary.byCloseKind).map(([k, n]) => `${k} ${n}`).join(', ');
  // Named as flows --close-kind takes them.
  if (kinds) out.push(`endings (close_kind): ${kinds}`);
  const anomalies = Object.entries(c.anomalies).map(([k, n]) => `${k} ${n}`).join(', ');
  if (anomalies) out.push(`anomalies: ${anomalies}`);
  const mid = r.summary.midstreamFlows;
  if (mid > 0) {
    out.push(
      `${mid === 1 ? '1 connection was' : `${mid} connections were`} already open when the capture started: no handshake seen, ` +
        (r.summary.midstreamRolesInferred === 0
          ? `client and server guessed from the ports (a well-known or non-ephemeral port is the server's).`
          : `client and server inferred from fan-in (the endpoint that recurs across connections while the other side's ports vary is the service)` +
            (r.summary.midstreamRolesInferred < mid ? `, for ${r.summary.midstreamRolesInferred} of them; the rest guessed from the ports.` : '.')),
    );
  }
  // What the capture could see, once for the whole report (no finding rests on the missing direction alone).
  out.push(...r.summary.oneDirection);
  if (c.flows > 0) out.push(r.summary.vantageText);
  return out;
}

/** Under the verdict, when any endpoint holds CLOSE_WAIT: how many, and how many paired with FIN_WAIT_2. */
export function closeWaitLine(r: Report): string | null {
  if (r.summary.closeWait === 0) return null;
  return (
    `${r.summary.closeWait} connection${r.summary.closeWait === 1 ? '' : 's'} in CLOSE_WAIT at capture end, ` +
    `${r.summary.finWait2CloseWaitPairs} of them paired with FIN_WAIT_2 on the closer.`
  );
}

export function noFindingsLine(r: Report): string {
  return r.capture.flows === 0
    ? 'No findings: there is no TCP connection in this capture to diagnose.'
    : 'No findings: every connection in this capture opened and closed normally or is still open.';
}

/** Findings beyond the per-kind limit, or null when none was left out. */
export function omittedLine(r: Report): string | null {
  const omitted = Object.entries(r.summary.omitted);
  if (omitted.length === 0) return null;
  return `Not shown: ${omitted.map(([k, n]) => `${n} more ${k} finding${n === 1 ? '' : 's'}`).join(', ')} (--all shows every finding).`;
}

export function thresholdsLine(r: Report): string {
  return (
    `Thresholds: warning above ${r.thresholds.warnCount} CLOSE_WAIT connections or ${formatDuration(r.thresholds.warnAgeS)} stuck, ` +
    `critical above ${formatDuration(r.thresholds.critAgeS)} (--warn-count, --warn-age, --crit-age).`
  );
}

/** "flows (longest stuck first) 2, 3, 6 (+4 more)". */
export function evidenceFlows(f: Finding): string {
  const ids = f.evidence.flowIds.join(', ');
  const order = f.kind === 'close_wait' ? ' (longest stuck first)' : '';
  return `flow${f.evidence.flowIds.length > 1 ? 's' : ''}${order} ${f.evidence.moreFlows > 0 ? `${ids} (+${f.evidence.moreFlows} more)` : ids}`;
}

/** For a sample flow picked up mid-stream: how client and server were decided; null otherwise. */
export function sampleRolesNote(s: SampleFlow): string | null {
  if (!s.midstream) return null;
  return s.rolesInferred
    ? `(capture started mid-connection, no handshake seen: client and server inferred from which endpoint recurs across the capture; ${s.rolesSwapped ? s.orig : s.resp} is the server)`
    : '(capture started mid-connection: client/server guessed from the ports)';
}
