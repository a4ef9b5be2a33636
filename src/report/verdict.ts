import { formatDuration, formatTs } from './format-time';
import { hostPort } from './host-port';
import { groupBy } from './stats';
import type { Finding, ReportCapture, Severity } from './model';
import { SEVERITY_RANK } from './thresholds';
import { plural } from './wording';

export interface Verdict {
  /** CLOSE_WAIT connections over every group. */
  closeWait: number;
  finWait2CloseWaitPairs: number;
  /** The worst severity among the findings shown (TIME_WAIT, closer fingerprints and an aborted live capture do not count). */
  severity: Severity | 'ok';
  /** The report's first line, in plain words. */
  verdict: string;
}

/** This many client groups of one service or more are one story: its clients leak (the same software, or the same pool). */
export const FLEET_MIN_CLIENTS = 10;

/** Client groups of one service (stuck clients of one server:port), the service with the most groups first; null when none has FLEET_MIN_CLIENTS. */
function clientFleet(cw: readonly Finding[]): { service: string; server: string | null; groups: Finding[] } | null {
  const clients = cw.filter((f) => f.facts.stuckRole === 'client' && f.facts.peerHost !== null && f.facts.peerHost !== undefined);
  let best: Finding[] | null = null;
  for (const g of groupBy(clients, (f) => hostPort(f.facts.peerHost as string, f.facts.peerPort as number)).values()) {
    if (best === null || g.length > best.length) best = g;
  }
  if (best === null || best.length < FLEET_MIN_CLIENTS) return null;
  const software = best.map((f) => (f.facts.software as { server?: string | null } | null)?.server ?? null).find((x) => x !== null) ?? null;
  return { service: hostPort(best[0].facts.peerHost as string, best[0].facts.peerPort as number), server: software, groups: best };
}

/** "3504 clients of server 10.4.0.1:443 (nginx) leak connections to it: 4598 in CLOSE_WAIT (1 to 5 each), oldest 20.3 s; stuck since ..." */
function fleetSentence(fleet: { service: string; server: string | null; groups: Finding[] }): string {
  const g = fleet.groups;
  const counts = g.map((f) => f.facts.count as number);
  const total = counts.reduce((a, n) => a + n, 0);
  const lo = Math.min(...counts);
  const hi = Math.max(...counts);
  const oldest = Math.max(...g.map((f) => f.facts.oldestStuckS as number));
  const since = Math.min(...g.map((f) => Date.parse(f.facts.since as string) / 1000));
  const most = [...g].sort((a, b) => (b.facts.count as number) - (a.facts.count as number))[0];
  return (
    `${g.length} clients of server ${fleet.service}${fleet.server !== null ? ` (${fleet.server})` : ''} leak connections to it: ` +
    `${total} in CLOSE_WAIT (${lo === hi ? `${lo}` : `${lo} to ${hi}`} each), oldest ${formatDuration(oldest)}; stuck since ${formatTs(since)}. ` +
    `The most in one client: ${most.facts.stuckHost as string}, ${most.facts.count as number}.`
  );
}

/**
 * The verdict of a report: from every finding computed (`all`, in module
 * order) and the ones shown after the per-kind limit (`findings`, ordered).
 */
export function verdictOf(all: readonly Finding[], findings: readonly Finding[], capture: ReportCapture, endTs: number | null): Verdict {
  const cw = all.filter((f) => f.kind === 'close_wait');
  const closeWait = cw.reduce((a, f) => a + (f.facts.count as number), 0);
  const pairs = cw.reduce((a, f) => a + (f.facts.finWait2Pairs as number), 0);
  let severity: Severity | 'ok' = 'ok';
  // An aborted live capture is context, not a finding about the network: it does not set the severity.
  // Capture loss is a caution about the conclusions, said after the verdict, not a finding about the network either.
  const ranked = (f: Finding): boolean =>
    f.kind !== 'time_wait' && f.kind !== 'closer_fingerprint' && f.kind !== 'capture_loss' && !(f.facts as { liveAborted?: boolean }).liveAborted;
  for (const f of findings) if (ranked(f) && (severity === 'ok' || SEVERITY_RANK[f.severity] > SEVERITY_RANK[severity])) severity = f.severity;
  let verdict: string;
  if (cw.length > 0) {
    const worst = [...cw].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (b.facts.count as number) - (a.facts.count as number))[0];
    // Many clients of one service each holding a few: that service's clients are the story, unless a worse group stands out.
    const fleet = clientFleet(cw);
    const fleetLeads = fleet !== null && fleet.groups.includes(worst);
    const named = fleetLeads ? fleet.groups.length : 1;
    verdict = fleetLeads ? fleetSentence(fleet) : `${worst.title}; stuck since ${formatTs(Date.parse(worst.facts.since as string) / 1000)}.`;
    if (cw.length > named) verdict += ` ${cw.length - named} more endpoint group${cw.length - named > 1 ? 's' : ''} hold CLOSE_WAIT connections.`;
    // Every group, not just the ones shown after the per-kind limit.
    // The keep-alive races among them are that finding's (facts.resetAfterHalfClose), the rest reset_after_half_close's.
    const n =
      all.filter((f) => f.kind === 'reset_after_half_close').reduce((a, f) => a + (f.facts.count as number), 0) +
      all.filter((f) => f.kind === 'keepalive_race').reduce((a, f) => a + (f.facts.resetAfterHalfClose as number), 0);
    if (n > 0) {
      verdict += ` ${n} connection${n === 1 ? ' was' : 's were'} reused after the peer had closed ${n === 1 ? 'it' : 'them'} and reset (stale pooled connection${n === 1 ? '' : 's'}).`;
    }
  } else {
    const skipped = capture.anomalies.unknown_linktype ?? 0;
    verdict =
      capture.flows === 0
        ? `No TCP connection in this capture, so nothing to diagnose` +
          (skipped > 0
            ? `: ${plural(skipped, 'packet')} of a link type wirestate cannot decode (${capture.linktypes.join(', ')}) were skipped (see wirestate stats).`
            : (capture.tcpPackets ?? 0) === 0
              ? ' (no TCP packet in it).'
              : '.')
        : `No endpoint holds a connection in CLOSE_WAIT at the end of this capture.`;
    const others = findings.filter((f) => f.severity !== 'info' && f.kind !== 'capture_damage' && f.kind !== 'capture_loss');
    if (others.length > 0) verdict += ` But: ${others[0].title}.`;
    const rest = others.slice(1);
    const crit = rest.filter((f) => f.severity === 'critical').length;
    const warn = rest.length - crit;
    const more = [crit > 0 ? `${crit} more critical finding${crit === 1 ? '' : 's'}` : '', warn > 0 ? `${plural(warn, 'more warning')}` : ''].filter((x) => x);
    if (more.length > 0) verdict += ` And ${more.join(' and ')} below.`;
  }
  // Whatever the verdict, it stands on a damaged file: say so where it is read first.
  const dmg = findings.find((f) => f.kind === 'capture_damage');
  if (dmg) {
    const facts = dmg.facts as { cutShort: boolean; liveAborted?: boolean };
    verdict += facts.liveAborted
      ? ` The live capture ended abnormally: states are as of ${endTs === null ? 'the last flush' : `the last flush at ${formatTs(endTs)}`} (see below).`
      : facts.cutShort
        ? ' The capture ends in a truncated record (see below).'
        : ' The capture file is corrupt: connections after the damage are missing (see below).';
  }
  const loss = findings.find((f) => f.kind === 'capture_loss');
  if (loss) verdict += ` ${loss.title.replace(/^The capture/, 'Caution: the capture')}, so some states may be wrong (see below).`;  return { closeWait, finWait2CloseWaitPairs: pairs, severity, verdict };
}
