/**
 * The diagnosis across hosts (`wirestate report --clickhouse`): the same
 * CLOSE_WAIT groups and closer idle timers as the single-capture report,
 * computed over every host's rows in ClickHouse and grouped over the hosts.
 * Pure: it takes the rows the fleet queries return (src/export/fleet-query.ts).
 */
import { formatDuration, formatTs, isoTs } from './format-time';
import { idleFingerprint } from './idle-fingerprint';
import type { Severity } from './model';
import { resolveThresholds, severityFor, SEVERITY_RANK, type Thresholds } from './thresholds';
import { wrap } from './text-wrap';

export interface FleetHostRow {
  host: string;
  captures: number;
  firstTs: number | null;
  lastTs: number | null;
}

/** One endpoint stuck in CLOSE_WAIT (a row of the close_wait view). */
export interface FleetCloseWaitRow {
  host: string;
  stuckSide: 'orig' | 'resp';
  stuckH: string;
  stuckP: number;
  peerH: string;
  peerP: number;
  stuckS: number;
  sinceTs: number;
}

/** The idle times before the first FIN of one host towards one service, by who closed first. */
export interface FleetCloserRow {
  host: string;
  closedBy: 'orig' | 'resp';
  serviceH: string;
  serviceP: number;
  idles: number[];
}

export interface FleetInput {
  clickhouse: string;
  serverVersion: string;
  sinceTs: number | null;
  hostFilter: string[];
  hosts: FleetHostRow[];
  closeWait: FleetCloseWaitRow[];
  closers: FleetCloserRow[];
  thresholds?: Partial<Thresholds>;
}

export interface FleetCloserTimer {
  /** "server 10.0.0.1:80" or "clients of 10.0.0.1:80". */
  closer: string;
  service: string;
  /** The idle time most hosts close after (median of the hosts' medians), seconds. */
  idleS: number;
  /** Hosts whose closes show this timer (within max(1 s, 5 %)). */
  hosts: string[];
  /** Hosts that saw closes by this closer at all. */
  ofHosts: number;
  perHost: Array<{ host: string; closes: number; medianS: number; timer: boolean }>;
  text: string;
}

export interface FleetCloseWaitGroup {
  /** Client side stuck: the upstream "h:p" the hosts leak connections to; server side: "port N" of the hosts' own service. */
  group: string;
  side: 'client' | 'server';
  severity: Severity;
  severityWhy: string;
  hosts: string[];
  ofHosts: number;
  sockets: number;
  oldest: { host: string; stuckS: number; since: string | null };
  perHost: Array<{ host: string; sockets: number; oldestS: number }>;
  /** The closer's timer for the same service across the fleet, when there is one. */
  closerTimer: FleetCloserTimer | null;
  text: string;
}

export interface FleetReport {
  kind: 'fleet_report';
  clickhouse: string;
  serverVersion: string;
  since: string | null;
  hosts: Array<{ host: string; captures: number; firstTs: string | null; lastTs: string | null }>;
  severity: Severity;
  closeWait: FleetCloseWaitGroup[];
  closerTimers: FleetCloserTimer[];
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "2 of 2 hosts", "all 40 hosts"? Keep the count explicit: "14 of 40 hosts". */
function ofHosts(n: number, of: number): string {
  return `${n} of ${plural(of, 'host')}`;
}

function closerTimers(rows: FleetCloserRow[], hostsTotal: number): FleetCloserTimer[] {
  const groups = new Map<string, FleetCloserRow[]>();
  for (const r of rows) {
    const key = `${r.closedBy} ${r.serviceH.includes(':') ? `[${r.serviceH}]` : r.serviceH}:${r.serviceP}`;
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  const out: FleetCloserTimer[] = [];
  for (const [key, g] of groups) {
    const [by, service] = key.split(' ');
    const closer = by === 'resp' ? `server ${service}` : `clients of ${service}`;
    const perHost = g
      .map((r) => {
        const fp = idleFingerprint(closer, r.idles);
        return { host: r.host, closes: fp.total, medianS: fp.medianS, timer: fp.timer };
      })
      .sort((a, b) => a.host.localeCompare(b.host));
    const timed = perHost.filter((h) => h.timer);
    if (timed.length === 0) continue;
    const meds = timed.map((h) => h.medianS).sort((a, b) => a - b);
    const idleS = meds[Math.floor((meds.length - 1) / 2)];
    const tol = Math.max(1, idleS * 0.05);
    const same = timed.filter((h) => Math.abs(h.medianS - idleS) <= tol).map((h) => h.host);
    const on = same.length === g.length ? (g.length === 1 ? `on ${g[0].host}` : `on all ${g.length} hosts that saw it close`) : `on ${same.length} of the ${g.length} hosts that saw it close`;
    out.push({
      closer,
      service,
      idleS,
      hosts: same,
      ofHosts: g.length,
      perHost,
      text: `${closer} ${by === 'resp' ? 'closes' : 'close'} after ${formatDuration(idleS)} idle ${on}`,
    });
  }
  void hostsTotal;
  return out.sort((a, b) => b.hosts.length - a.hosts.length || a.closer.localeCompare(b.closer));
}

function hostPort(h: string, p: number): string {
  return `${h.includes(':') ? `[${h}]` : h}:${p}`;
}

export function buildFleetReport(input: FleetInput): FleetReport {
  const t = resolveThresholds(input.thresholds);
  const hostsTotal = input.hosts.length;
  const timers = closerTimers(input.closers, hostsTotal);
  const groups = new Map<string, FleetCloseWaitRow[]>();
  for (const r of input.closeWait) {
    // A client holding CLOSE_WAIT leaks connections to its upstream (the same address on every host);
    // a server holding it leaks on its own port (each host's own address).
    const key = r.stuckSide === 'orig' ? `client ${hostPort(r.peerH, r.peerP)}` : `server port ${r.stuckP}`;
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  const closeWait: FleetCloseWaitGroup[] = [];
  for (const [key, g] of groups) {
    const side = key.startsWith('client') ? 'client' : 'server';
    const group = key.replace(/^client |^server /, '');
    const byHost = new Map<string, { sockets: number; oldestS: number; sinceTs: number }>();
    for (const r of g) {
      const h = byHost.get(r.host) ?? { sockets: 0, oldestS: -Infinity, sinceTs: Infinity };
      h.sockets++;
      if (r.stuckS > h.oldestS) h.oldestS = r.stuckS;
      if (r.sinceTs < h.sinceTs) h.sinceTs = r.sinceTs;
      byHost.set(r.host, h);
    }
    const perHost = [...byHost].map(([host, h]) => ({ host, sockets: h.sockets, oldestS: h.oldestS, sinceTs: h.sinceTs }));
    perHost.sort((a, b) => b.oldestS - a.oldestS || a.host.localeCompare(b.host));
    const oldest = perHost[0];
    const sev = severityFor(g.length, oldest.oldestS, t);
    const timer = side === 'client' ? (timers.find((x) => x.service === group && x.closer.startsWith('server')) ?? null) : (timers.find((x) => x.closer.startsWith('clients of') && x.service.endsWith(`:${group.replace('port ', '')}`)) ?? null);
    const verb = perHost.length === 1 && hostsTotal === 1 ? 'leaks' : 'leak';
    const what = side === 'client' ? `${verb} connections to ${group}` : `${verb} connections on ${verb === 'leaks' ? 'its' : 'their'} ${group}`;
    const whoStuck = side === 'client' ? 'the client side kept them after the server\'s FIN' : 'the server side kept them after the client\'s FIN';
    let text = `${ofHosts(perHost.length, hostsTotal)} ${what}: ${plural(g.length, 'socket')} in CLOSE_WAIT (${whoStuck}); oldest ${formatDuration(oldest.oldestS)} on ${oldest.host}`;
    if (timer !== null) {
      const all = timer.hosts.length === perHost.length && perHost.every((h) => timer.hosts.includes(h.host));
      const who = side === 'client' ? group : 'their clients';
      text += `; ${who} ${side === 'client' ? 'closes' : 'close'} after ${formatDuration(timer.idleS)} idle ${all ? (perHost.length === 1 ? 'there' : 'on all of them') : `on ${timer.hosts.length} of them`}`;
    }
    closeWait.push({
      group,
      side,
      severity: sev.severity,
      severityWhy: sev.why,
      hosts: perHost.map((h) => h.host).sort(),
      ofHosts: hostsTotal,
      sockets: g.length,
      oldest: { host: oldest.host, stuckS: oldest.oldestS, since: isoTs(oldest.sinceTs) },
      perHost: perHost.map(({ host, sockets, oldestS }) => ({ host, sockets, oldestS })),
      closerTimer: timer,
      text,
    });
  }
  closeWait.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.hosts.length - a.hosts.length || b.sockets - a.sockets || a.group.localeCompare(b.group));
  const severity: Severity = closeWait.reduce<Severity>((s, g) => (SEVERITY_RANK[g.severity] > SEVERITY_RANK[s] ? g.severity : s), 'info');
  return {
    kind: 'fleet_report',
    clickhouse: input.clickhouse,
    serverVersion: input.serverVersion,
    since: isoTs(input.sinceTs),
    hosts: input.hosts.map((h) => ({ host: h.host, captures: h.captures, firstTs: isoTs(h.firstTs), lastTs: isoTs(h.lastTs) })),
    severity,
    closeWait,
    closerTimers: timers,
  };
}

const WIDTH = 78;

export function renderFleetText(r: FleetReport): string {
  const out: string[] = [];
  const names = r.hosts.map((h) => h.host);
  out.push(`wirestate fleet report: ${plural(names.length, 'host')} in ${r.clickhouse} (ClickHouse ${r.serverVersion})`);
  out.push(...wrap(`hosts: ${names.join(', ') || 'none'}`, WIDTH, '  ', ''));
  out.push(`data: ${r.since ? `since ${formatTs(Date.parse(r.since) / 1000)}` : 'everything stored'}`);
  out.push('');
  out.push('CLOSE_WAIT across hosts');
  if (r.closeWait.length === 0) out.push('  none: no host holds a socket in CLOSE_WAIT');
  for (const g of r.closeWait) {
    out.push(...wrap(`[${g.severity}] ${g.text}`, WIDTH, '    ', '  '));
    const w = Math.max(...g.perHost.map((h) => h.host.length));
    for (const h of g.perHost.slice(0, 20)) out.push(`    ${h.host.padEnd(w)}  ${plural(h.sockets, 'socket')}, oldest ${formatDuration(h.oldestS)}`);
    if (g.perHost.length > 20) out.push(`    ... ${g.perHost.length - 20} more hosts (--format json lists all)`);
  }
  out.push('');
  out.push('Idle timers of the closers across hosts');
  if (r.closerTimers.length === 0) out.push('  none: no closer shows an idle timer (3 or more closes after the same idle time) on any host');
  for (const c of r.closerTimers) {
    out.push(...wrap(c.text, WIDTH, '    ', '  '));
    const w = Math.max(...c.perHost.map((h) => h.host.length));
    for (const h of c.perHost.slice(0, 20)) out.push(`    ${h.host.padEnd(w)}  ${plural(h.closes, 'close')}, median idle ${formatDuration(h.medianS)}${h.timer ? '' : ' (no timer)'}`);
  }
  return out.join('\n') + '\n';
}

export function renderFleetJson(r: FleetReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}
