import type { Database } from 'better-sqlite3';
import { formatDuration, formatTs, isoTs } from './format-time';
import { idleFingerprint, describeIdle, MIN_FOR_TIMER } from './idle-fingerprint';
import { inferMidstreamRoles, NO_ROLES, type MidstreamRoles } from './role-inference';
import type { ReportCapture, Evidence, Finding, IdleFingerprint, Report, SampleFlow, Severity, Thresholds } from './report-types';
import type { FlowsRow } from '../store/flows-row';

/**
 * The diagnosis of one capture, computed from the database only (never from
 * in-memory engine state), so a report can be rerun on any database later.
 */

const MAX_IDS = 20;

export function hostPort(h: string, p: number | null): string {
  if (p === null) return h;
  return h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };

export function loadCapture(db: Database, id: number): ReportCapture {
  const c = db.prepare('SELECT * FROM captures WHERE id = ?').get(id) as Record<string, any> | undefined;
  if (!c) throw new Error(`no capture with id ${id}`);
  const files = db
    .prepare('SELECT path, sha256, truncated, damage FROM capture_files WHERE capture_id = ? ORDER BY seq')
    .all(id) as { path: string; sha256: string; truncated: number; damage: string | null }[];
  const anomalies: Record<string, number> = {};
  for (const a of db.prepare('SELECT name, sum(count) AS n FROM anomalies WHERE capture_id = ? GROUP BY name ORDER BY name').all(id) as {
    name: string;
    n: number;
  }[]) {
    anomalies[a.name] = a.n;
  }
  const end = db.prepare('SELECT end_ts FROM capture_end WHERE capture_id = ?').get(id) as { end_ts: number | null };
  const first = c.first_ts ?? (db.prepare('SELECT min(first_ts) AS t FROM flows WHERE capture_id = ?').get(id) as { t: number | null }).t;
  const flows = (db.prepare('SELECT count(*) AS n FROM flows WHERE capture_id = ?').get(id) as { n: number }).n;
  return {
    id,
    source: c.source,
    kind: c.kind,
    completed: c.completed === 1,
    format: c.format,
    linktypes: typeof c.linktypes === 'string' && c.linktypes !== '' ? c.linktypes.split(',').map(Number) : [],
    files: files.map((f) => ({ path: f.path, sha256: f.sha256, truncated: f.truncated === 1, damage: f.damage })),
    firstTs: isoTs(first),
    lastTs: isoTs(end.end_ts),
    durationS: first !== null && end.end_ts !== null ? end.end_ts - first : null,
    packets: c.packets,
    tcpPackets: c.tcp_packets,
    flows,
    truncated: c.truncated === 1,
    damage: c.damage,
    drops: c.drops,
    anomalies,
  };
}

export function loadSample(db: Database, flowId: number, roles: MidstreamRoles = NO_ROLES): SampleFlow | null {
  const f = db.prepare('SELECT * FROM flows WHERE id = ?').get(flowId) as Record<string, any> | undefined;
  if (!f) return null;
  const steps = db
    .prepare('SELECT ts, endpoint, from_state, to_state, cause FROM transitions WHERE flow_id = ? ORDER BY seq')
    .all(flowId) as { ts: number; endpoint: 'orig' | 'resp'; from_state: string; to_state: string; cause: string }[];
  return {
    flowId,
    orig: hostPort(f.orig_h, f.orig_p),
    resp: hostPort(f.resp_h, f.resp_p),
    history: f.history,
    connState: f.conn_state,
    closeKind: f.close_kind,
    midstream: f.midstream === 1,
    rolesInferred: roles.inferred.has(flowId),
    rolesSwapped: roles.swapped.has(flowId),
    idleBeforeFin:
      f.first_fin_ts !== null && f.idle_before_fin !== null
        ? {
            offsetS: Math.round((f.first_fin_ts - f.idle_before_fin - f.first_ts) * 1e6) / 1e6,
            idleS: f.idle_before_fin,
            afterData: (f.orig_bytes ?? 0) + (f.resp_bytes ?? 0) > 0,
          }
        : null,
    timeline: steps.map((t) => ({
      ts: isoTs(t.ts) ?? '',
      offsetS: Math.round((t.ts - f.first_ts) * 1e6) / 1e6,
      endpoint: t.endpoint,
      host: t.endpoint === 'orig' ? hostPort(f.orig_h, f.orig_p) : hostPort(f.resp_h, f.resp_p),
      from: t.from_state,
      to: t.to_state,
      cause: t.cause,
    })),
  };
}

function evidence(db: Database, ids: number[], sampleId: number | null, roles: MidstreamRoles = NO_ROLES): Evidence {
  return {
    flowIds: ids.slice(0, MAX_IDS),
    moreFlows: Math.max(0, ids.length - MAX_IDS),
    sample: sampleId === null ? null : loadSample(db, sampleId, roles),
  };
}

/** The processes owning the given endpoints (flow id and its stored side). */
function owners(db: Database, ends: readonly { flow_id: number; stuck_side: 'orig' | 'resp' }[]): string[] {
  if (ends.length === 0) return [];
  const rows = db
    .prepare(
      `SELECT command, pid, count(*) AS n FROM socket_owners
       WHERE endpoint || '|' || flow_id IN (SELECT value FROM json_each(?)) GROUP BY command, pid ORDER BY n DESC`,
    )
    .all(JSON.stringify(ends.map((e) => `${e.stuck_side}|${e.flow_id}`))) as { command: string; pid: number; n: number }[];
  return rows.map((r) => `${r.command} (pid ${r.pid})`);
}

interface CwRow {
  flow_id: number;
  stuck_side: 'orig' | 'resp';
  stuck_h: string;
  stuck_p: number;
  peer_h: string;
  peer_p: number;
  peer_state: string;
  since_ts: number;
  stuck_s: number;
  first_fin_by: 'orig' | 'resp' | null;
  idle_before_fin: number | null;
}

function severityFor(count: number, oldestS: number, t: Thresholds): { severity: Severity; why: string } {
  if (oldestS > t.critAgeS) return { severity: 'critical', why: `oldest stuck longer than ${formatDuration(t.critAgeS)}` };
  const reasons: string[] = [];
  if (count > t.warnCount) reasons.push(`more than ${t.warnCount} connections`);
  if (oldestS > t.warnAgeS) reasons.push(`oldest stuck longer than ${formatDuration(t.warnAgeS)}`);
  if (reasons.length > 0) return { severity: 'warning', why: reasons.join(' and ') };
  return { severity: 'info', why: `below the thresholds (${t.warnCount} connections, ${formatDuration(t.warnAgeS)})` };
}

function closeWaitFindings(db: Database, capId: number, t: Thresholds, roles: MidstreamRoles): Finding[] {
  const rows = db
    .prepare(
      `SELECT cw.flow_id, cw.stuck_side, cw.stuck_h, cw.stuck_p, cw.peer_h, cw.peer_p, cw.peer_state, cw.since_ts, cw.stuck_s,
              f.first_fin_by, f.idle_before_fin
       FROM close_wait cw JOIN flows f ON f.id = cw.flow_id
       WHERE cw.capture_id = ? ORDER BY cw.stuck_s DESC, cw.flow_id`,
    )
    .all(capId) as CwRow[];
  // Group by the stuck side: a server by its service port; a client (ephemeral
  // ports) by its address and the service it talks to — the pooled-client case.
  // Flows picked up mid-stream take their client/server from fan-in, not from the stored port guess.
  const isClient = (r: CwRow): boolean => (r.stuck_side === 'orig') !== roles.swapped.has(r.flow_id);
  const groups = new Map<string, CwRow[]>();
  for (const r of rows) {
    const key = isClient(r) ? `c|${r.stuck_h}|${r.peer_h}|${r.peer_p}` : `s|${r.stuck_h}|${r.stuck_p}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  const out: Finding[] = [];
  for (const g of groups.values()) {
    const first = g[0];
    const client = isClient(first);
    const ids = g.map((r) => r.flow_id);
    const inferred = g.filter((r) => roles.inferred.has(r.flow_id)).length;
    const stuck = g.map((r) => r.stuck_s).sort((a, b) => a - b);
    const oldest = stuck[stuck.length - 1];
    const med = median(stuck);
    let since = Infinity;
    let newestSince = -Infinity;
    for (const r of g) {
      if (r.since_ts < since) since = r.since_ts;
      if (r.since_ts > newestSince) newestSince = r.since_ts;
    }
    const peers = new Map<string, number>();
    const peerStates = new Map<string, number>();
    for (const r of g) {
      const p = client ? hostPort(r.peer_h, r.peer_p) : r.peer_h;
      peers.set(p, (peers.get(p) ?? 0) + 1);
      peerStates.set(r.peer_state, (peerStates.get(r.peer_state) ?? 0) + 1);
    }
    const idles = g.map((r) => r.idle_before_fin).filter((x): x is number => x !== null);
    const closerName = client ? `server ${hostPort(first.peer_h, first.peer_p)}` : peers.size === 1 ? `client ${first.peer_h}` : `its ${peers.size} clients`;
    const fp = idles.length > 0 ? idleFingerprint(closerName, idles) : null;
    const { severity, why } = severityFor(g.length, oldest, t);
    const rate = leakRate(g.length, newestSince - since);
    const stuckName = client ? `client ${first.stuck_h}` : `server ${hostPort(first.stuck_h, first.stuck_p)}`;
    const peerName = client ? `server ${hostPort(first.peer_h, first.peer_p)}` : peers.size === 1 ? `client ${[...peers.keys()][0]}` : `${peers.size} clients`;
    const own = owners(db, g);
    const fw2 = peerStates.get('FIN_WAIT_2') ?? 0;
    const details = [
      `${plural(g.length, 'connection')} in CLOSE_WAIT on ${stuckName}${own.length ? ` (${own.join(', ')})` : ''}, ` +
        `oldest stuck ${formatDuration(oldest)}, median ${formatDuration(med)}.`,
      `Stuck since ${formatTs(since)} (newest ${formatTs(newestSince)}).` +
        (rate ? ` They appeared over ${formatDuration(newestSince - since)} of the capture, about ${rate.text}.` : ''),
      client
        ? `The peer that closed: ${peerName}; it sent the FIN in all ${g.length}.`
        : `The peers that closed: ${[...peers.entries()].sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} (${n})`).slice(0, 5).join(', ')}${peers.size > 5 ? `, +${peers.size - 5} more` : ''}.`,
      `Peer state at capture end: ${[...peerStates.entries()].map(([s, n]) => `${s} ${n}`).join(', ')}.`,
      `Severity ${severity}: ${why}.`,
    ];
    if (fp) details.splice(3, 0, `${describeIdle(fp)}.`);
    if (inferred > 0) {
      const svc = client ? hostPort(first.peer_h, first.peer_p) : hostPort(first.stuck_h, first.stuck_p);
      details.push(
        `Client and server inferred: the capture started after ${inferred === g.length ? (g.length === 1 ? 'this connection was' : `all ${g.length} were`) : `${inferred} of them were`} opened, ` +
          `so no handshake was captured; ${svc} recurs across the capture's connections while the other side's ports vary, so it is taken as the service.`,
      );
    }
    let implication: string;
    if (client) {
      const timer = fp && fp.timer ? ` ${hostPort(first.peer_h, first.peer_p)} closes idle connections after about ${formatDuration(fp.medianS)} (its keep-alive timeout).` : '';
      implication =
        `The client at ${first.stuck_h} received the server's FIN and its kernel acknowledged it, ` +
        `but the application never closed its socket: the connections sit idle in its connection pool, which ` +
        `does not notice connections closed by the server.${timer} ` +
        `Look at the client's HTTP/connection-pool configuration: evict idle connections before the server's ` +
        `keep-alive timeout${fp && fp.timer ? ` (shorter than ${formatDuration(fp.medianS)})` : ''}, or validate a connection before reusing it, ` +
        `and make sure every code path closes or releases its connection. ` +
        `CLOSE_WAIT never times out in the kernel: these sockets stay until the process closes them or exits.`;
      if (fw2 > 0) {
        implication +=
          ` The server side is in FIN_WAIT_2 for ${fw2} of them; if the server close()d them (nginx does; shutdown() alone does not), ` +
          `they are orphaned and Linux drops them after net.ipv4.tcp_fin_timeout (60 s), so ss on the server may no longer list them.`;
      }
    } else {
      implication =
        `The server at ${hostPort(first.stuck_h, first.stuck_p)} received the client's FIN (the client finished sending) ` +
        `and acknowledged it, but the application never closed its socket. ` +
        `Look at the server's code that handles these connections: after reading end-of-file (recv returns 0) it must close the socket; ` +
        `check error and exception paths that skip close(), and threads blocked while holding a connection. ` +
        `CLOSE_WAIT never times out in the kernel: these sockets stay (and hold file descriptors) until the process closes them or exits.`;
    }
    out.push({
      kind: 'close_wait',
      severity,
      title: client
        ? `${stuckName} leaks connections to ${hostPort(first.peer_h, first.peer_p)}: ${g.length} in CLOSE_WAIT, oldest ${formatDuration(oldest)}`
        : `${stuckName} leaks connections: ${g.length} in CLOSE_WAIT, oldest ${formatDuration(oldest)}`,
      details,
      implication,
      facts: {
        stuckRole: client ? 'client' : 'server',
        stuckHost: first.stuck_h,
        stuckPort: client ? null : first.stuck_p,
        peerHost: client ? first.peer_h : null,
        peerPort: client ? first.peer_p : null,
        // The 20 peers with the most stuck connections (all of them when fewer).
        peers: Object.fromEntries([...peers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)),
        peerCount: peers.size,
        count: g.length,
        oldestStuckS: oldest,
        medianStuckS: med,
        since: isoTs(since),
        newestSince: isoTs(newestSince),
        peerStates: Object.fromEntries(peerStates),
        leakPerHour: rate ? rate.perHour : null,
        finWait2Pairs: fw2,
        owners: own,
        idleBeforeFin: fp,
        rolesInferred: inferred,
      },
      evidence: evidence(db, ids, first.flow_id, roles),
    });
  }
  return out;
}

/** How fast CLOSE_WAIT connections pile up, when there are enough of them over a long enough time. */
function leakRate(count: number, spanS: number): { perHour: number; text: string } | null {
  if (count < 3 || spanS < 1) return null;
  const perS = (count - 1) / spanS;
  const perHour = perS * 3600;
  const text = perS >= 1 ? `${perS.toFixed(1)} per second` : perS * 60 >= 1 ? `${(perS * 60).toFixed(1)} per minute` : `${perHour.toFixed(1)} per hour`;
  return { perHour, text };
}

type FlowRow = Pick<
  FlowsRow,
  'id' | 'orig_h' | 'orig_p' | 'resp_h' | 'resp_p' | 'first_ts' | 'last_ts' | 'first_fin_by' | 'first_fin_ts' | 'idle_before_fin' | 'first_rst_by' | 'orig_pkts' | 'close_kind'
>;

function flowsOfKind(db: Database, capId: number, kind: string): FlowRow[] {
  return db
    .prepare(
      `SELECT id, orig_h, orig_p, resp_h, resp_p, first_ts, last_ts, first_fin_by, first_fin_ts, idle_before_fin, first_rst_by, orig_pkts, close_kind
       FROM flows WHERE capture_id = ? AND close_kind = ? ORDER BY first_ts, id`,
    )
    .all(capId, kind) as FlowRow[];
}

function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    let g = m.get(k);
    if (!g) m.set(k, (g = []));
    g.push(r);
  }
  return m;
}

/** A flow row seen with the client/server roles fan-in gave a mid-stream flow (stored orig is the service). */
function withRoles(r: FlowRow, roles: MidstreamRoles): FlowRow {
  if (!roles.swapped.has(r.id)) return r;
  const flip = (x: 'orig' | 'resp' | null): 'orig' | 'resp' | null => (x === null ? null : x === 'orig' ? 'resp' : 'orig');
  return { ...r, orig_h: r.resp_h, orig_p: r.resp_p, resp_h: r.orig_h, resp_p: r.orig_p, first_fin_by: flip(r.first_fin_by), first_rst_by: flip(r.first_rst_by) };
}

function resetAfterHalfClose(db: Database, capId: number, roles: MidstreamRoles): Finding[] {
  const rows = flowsOfKind(db, capId, 'reset_after_half_close').map((r) => withRoles(r, roles));
  const rstTs = db.prepare(`SELECT min(ts) AS t FROM transitions WHERE flow_id = ? AND to_state = 'CLOSED' AND cause LIKE '%RST%'`);
  const out: Finding[] = [];
  // The half-closed side is the one that did NOT send the first FIN.
  for (const g of groupBy(rows, (r) => (r.first_fin_by === 'resp' ? `c|${r.orig_h}|${r.resp_h}|${r.resp_p}` : `s|${r.resp_h}|${r.resp_p}`)).values()) {
    const f = g[0];
    const client = f.first_fin_by === 'resp';
    const gaps: number[] = [];
    for (const r of g) {
      const t = (rstTs.get(r.id) as { t: number | null }).t ?? r.last_ts;
      if (r.first_fin_ts !== null) gaps.push(t - r.first_fin_ts);
    }
    gaps.sort((a, b) => a - b);
    const idles = g.map((r) => r.idle_before_fin).filter((x): x is number => x !== null);
    const fp = idles.length > 0 ? idleFingerprint(client ? `server ${hostPort(f.resp_h, f.resp_p)}` : 'its clients', idles) : null;
    const halfName = client ? `client ${f.orig_h}` : `server ${hostPort(f.resp_h, f.resp_p)}`;
    const closerName = client ? `server ${hostPort(f.resp_h, f.resp_p)}` : 'its clients';
    const details = [
      `${plural(g.length, 'connection')} where ${closerName} sent FIN, ${halfName} later wrote into the half-closed connection and drew an RST.`,
      gaps.length === 0
        ? ''
        : formatDuration(gaps[0]) === formatDuration(gaps[gaps.length - 1])
          ? `Reset came ${formatDuration(gaps[0])} after the FIN${gaps.length > 1 ? ' in each' : ''}.`
          : `Reset came ${formatDuration(gaps[0])} to ${formatDuration(gaps[gaps.length - 1])} after the FIN (median ${formatDuration(median(gaps))}).`,
      fp ? `${describeIdle(fp)}.` : '',
    ].filter((x) => x !== '');
    const implication = client
      ? `Stale pooled connections reused: the client at ${f.orig_h} kept connections the server had already closed and sent a new request on them; ` +
        `the server's kernel answered with RST. The request was never processed. On Linux the application does not see "connection reset": ` +
        `reading the response returns end-of-file ("Remote end closed connection without response", "connection closed by peer", "unexpected EOF") ` +
        `and its next write fails with EPIPE ("broken pipe"), because the RST hits a socket that had already received the FIN (CLOSE_WAIT). ` +
        `Same root cause as CLOSE_WAIT: the client's pool does not notice the server's FIN. ` +
        `Evict idle connections before the server's keep-alive timeout${fp && fp.timer ? ` (about ${formatDuration(fp.medianS)})` : ''}, validate before reuse, and retry idempotent requests on a reset of a reused connection.`
      : `The server at ${hostPort(f.resp_h, f.resp_p)} wrote into connections its clients had already closed and drew RSTs: ` +
        `it keeps serving half-closed connections instead of closing them on end-of-file.`;
    out.push({
      kind: 'reset_after_half_close',
      severity: 'warning',
      title: `${halfName} reused ${plural(g.length, 'connection')} already closed by the peer: reset after half-close`,
      details,
      implication,
      facts: {
        halfClosedRole: client ? 'client' : 'server',
        halfClosedHost: client ? f.orig_h : f.resp_h,
        serviceHost: f.resp_h,
        servicePort: f.resp_p,
        count: g.length,
        resetAfterFinS: gaps.length ? { min: gaps[0], median: median(gaps), max: gaps[gaps.length - 1] } : null,
        idleBeforeFin: fp,
      },
      evidence: evidence(db, g.map((r) => r.id), f.id, roles),
    });
  }
  return out;
}

/** Packets closer than this to the end of the capture may simply have been answered after it. */
const TAIL_S = 3;

/**
 * Whether every event of a group (the SYN, the FIN that went unanswered)
 * happened so close to the end of the capture that its answer may simply have
 * come after the capture stopped.
 */
function atCaptureEnd<T>(g: readonly T[], eventTs: (r: T) => number | null, endTs: number | null): boolean {
  if (endTs === null) return false;
  for (const r of g) {
    const t = eventTs(r);
    if (t === null || endTs - t >= TAIL_S) return false;
  }
  return true;
}

function unackedCloses(db: Database, capId: number, endTs: number | null): Finding[] {
  const out: Finding[] = [];
  for (const kind of ['fin_unacked', 'last_ack_unacked'] as const) {
    const rows = flowsOfKind(db, capId, kind);
    // Grouped by service and by who sent the first FIN: the unacknowledged FIN's sender is named.
    for (const g of groupBy(rows, (r) => `${r.resp_h}|${r.resp_p}|${r.first_fin_by}`).values()) {
      const f = g[0];
      const svc = hostPort(f.resp_h, f.resp_p);
      const byOrig = g.filter((r) => r.first_fin_by === 'orig').length;
      const clients = new Set(g.map((r) => r.orig_h));
      const clientName = clients.size === 1 ? `client ${f.orig_h}` : `${clients.size} clients`;
      // fin_unacked: the first FIN's sender waits in FIN_WAIT_1; last_ack_unacked: the other side waits in LAST_ACK.
      const waiterIsClient = kind === 'fin_unacked' ? f.first_fin_by === 'orig' : f.first_fin_by === 'resp';
      const waiter = waiterIsClient ? clientName : `server ${svc}`;
      const peer = waiterIsClient ? `server ${svc}` : clientName;
      const title =
        kind === 'fin_unacked'
          ? `${waiter} stuck in FIN_WAIT_1 on ${plural(g.length, 'connection')}: its FIN to ${peer} was never acknowledged`
          : `${waiter} stuck in LAST_ACK on ${plural(g.length, 'connection')}: its FIN to ${peer} was never acknowledged`;
      const lastAck = db.prepare(`SELECT max(ts) AS t FROM transitions WHERE flow_id = ? AND to_state = 'LAST_ACK'`);
      const retr = db.prepare('SELECT orig_retransmissions AS o, resp_retransmissions AS r FROM flows WHERE id = ?');
      // When the unacknowledged FIN left: the first FIN (FIN_WAIT_1), or the answer to the peer's FIN (LAST_ACK).
      const finTs = (r: FlowRow): number | null => (kind === 'fin_unacked' ? r.first_fin_ts : (lastAck.get(r.id) as { t: number | null }).t);
      const tl = { atTail: atCaptureEnd(g, finTs, endTs) };
      let oldestFin = Infinity;
      let resent = 0;
      for (const r of g) {
        const t = finTs(r);
        if (t !== null && t < oldestFin) oldestFin = t;
        const x = retr.get(r.id) as { o: number; r: number };
        resent += waiterIsClient ? x.o : x.r;
      }
      const details: string[] = [];
      if (endTs !== null && Number.isFinite(oldestFin)) {
        details.push(
          `${g.length === 1 ? 'The FIN was' : 'The oldest FIN was'} sent at ${formatTs(oldestFin)}, ${formatDuration(endTs - oldestFin)} before the capture ended, and never acknowledged.`,
        );
      }
      if (resent > 0) {
        details.push(`The ${waiterIsClient ? 'client' : 'server'} retransmitted ${plural(resent, 'segment')} on ${g.length === 1 ? 'this connection' : 'these connections'} (the FIN, with backoff).`);
      }
      if (kind === 'last_ack_unacked') {
        details.push(`The ${waiterIsClient ? 'server' : 'client'} sent the first FIN; ${waiterIsClient ? 'the client' : 'the server'} answered with its own.`);
      }
      if (tl.atTail) {
        details.push(`The capture ended within ${formatDuration(TAIL_S)} of that FIN: the ACK may simply have come after the capture stopped.`);
      }
      out.push({
        kind,
        severity: tl.atTail ? 'info' : 'warning',
        title,
        details,
        implication:
          kind === 'fin_unacked'
            ? `The ${waiterIsClient ? 'client' : 'server'} closed and its FIN got no ACK before the capture ended: the ${waiterIsClient ? 'server' : 'client'} is gone or unreachable ` +
              `(host down, route or firewall black hole), packets were lost, or the capture saw only one direction. The closer sits in FIN_WAIT_1 and retransmits its FIN ` +
              `with backoff; its kernel gives up after net.ipv4.tcp_orphan_retries. Check the path and that the capture sees both directions.`
            : `The ${waiterIsClient ? 'client' : 'server'} answered the peer's FIN with its own FIN but never got the final ACK: it sits in LAST_ACK and retransmits. ` +
              `The peer vanished (crash, NAT/firewall state dropped) or the capture missed the ACK.`,
        facts: {
          service: svc,
          waiting: waiterIsClient ? 'client' : 'server',
          count: g.length,
          firstFinByClient: byOrig,
          firstFinByServer: g.length - byOrig,
          atCaptureEnd: tl.atTail,
          oldestFin: Number.isFinite(oldestFin) ? isoTs(oldestFin) : null,
          unackedForS: endTs !== null && Number.isFinite(oldestFin) ? endTs - oldestFin : null,
          waiterRetransmissions: resent,
        },
        evidence: evidence(db, g.map((r) => r.id), f.id),
      });
    }
  }
  return out;
}

function refusedAndUnanswered(db: Database, capId: number, endTs: number | null): Finding[] {
  const out: Finding[] = [];
  for (const kind of ['refused', 'no_reply'] as const) {
    const rows = flowsOfKind(db, capId, kind);
    for (const g of groupBy(rows, (r) => `${r.resp_h}|${r.resp_p}`).values()) {
      const f = g[0];
      const svc = hostPort(f.resp_h, f.resp_p);
      const clients = new Set(g.map((r) => r.orig_h));
      const syns = g.reduce((a, r) => a + r.orig_pkts, 0);
      const atTail = kind === 'no_reply' && atCaptureEnd(g, (r) => r.first_ts, endTs);
      out.push({
        kind,
        severity: atTail ? 'info' : 'warning',
        title:
          kind === 'refused'
            ? `${plural(g.length, 'connection attempt')} to ${svc} refused (RST to SYN)`
            : `${plural(g.length, 'connection attempt')} to ${svc} never answered (SYN without reply)`,
        details: [
          `From ${plural(clients.size, 'client')}: ${[...clients].slice(0, 5).join(', ')}${clients.size > 5 ? ', …' : ''}.`,
          kind === 'no_reply'
            ? g.length === 1
              ? `The SYN was sent ${plural(syns, 'time')} (${syns - 1} retransmission${syns - 1 === 1 ? '' : 's'}), never answered.`
              : `${plural(syns, 'SYN')} sent by the ${clients.size === 1 ? 'client' : 'clients'} (retransmissions included), none answered.`
            : '',
          atTail ? `The capture ended within ${formatDuration(TAIL_S)} of ${g.length === 1 ? 'this SYN' : 'these SYNs'}: the answer may simply have come after the capture stopped.` : '',
          g.length === 1 ? `At ${formatTs(g[0].first_ts)}.` : `First at ${formatTs(g[0].first_ts)}, last at ${formatTs(g[g.length - 1].first_ts)}.`,
        ].filter((x) => x !== ''),
        implication:
          kind === 'refused'
            ? `Nothing accepts connections on ${svc}: the host is up but its kernel answers SYN with RST (service not running, listening on another port or address, or a firewall REJECT rule). Check the service and the clients' target port.`
            : `SYNs to ${svc} got no answer at all: the host is down or unreachable, a firewall drops them silently, the listen queue is overflowing, or the capture sees only one direction. Clients wait for their connect timeout.`,
        facts: { service: svc, count: g.length, clients: [...clients], packets: syns },
        evidence: evidence(db, g.map((r) => r.id), f.id),
      });
    }
  }
  return out;
}

function resets(db: Database, capId: number): Finding[] {
  const rows = flowsOfKind(db, capId, 'reset');
  const out: Finding[] = [];
  for (const g of groupBy(rows, (r) => `${r.resp_h}|${r.resp_p}|${r.first_rst_by}`).values()) {
    const f = g[0];
    const svc = hostPort(f.resp_h, f.resp_p);
    const bySrv = f.first_rst_by === 'resp';
    out.push({
      kind: 'reset',
      severity: 'info',
      title: `${plural(g.length, 'connection')} with ${svc} ended by an RST from the ${bySrv ? 'server' : 'client'}`,
      details: [`Without a FIN before the reset.`],
      implication: bySrv
        ? `The server aborted these connections (application abort or SO_LINGER 0, unread data at close, or a crash/restart). Check the server's logs around ${formatTs(f.last_ts)}.`
        : `The client aborted these connections (timeout-driven abort, SO_LINGER 0, or closing with unread data). Usually a client-side timeout or cancellation.`,
      facts: { service: svc, count: g.length, resetBy: bySrv ? 'server' : 'client' },
      evidence: evidence(db, g.map((r) => r.id), f.id),
    });
  }
  return out;
}

function timeWait(db: Database, capId: number, roles: MidstreamRoles): Finding[] {
  const rows = db
    .prepare(
      `SELECT flow_id, endpoint, tw_h, tw_p, peer_h, peer_p, at_end, closed_first FROM time_wait WHERE capture_id = ? ORDER BY since_ts, flow_id`,
    )
    .all(capId) as { flow_id: number; endpoint: 'orig' | 'resp'; tw_h: string; tw_p: number; peer_h: string; peer_p: number; at_end: number; closed_first: number }[];
  const out: Finding[] = [];
  // Servers by service; clients by the service they talk to (one finding, not one per client host).
  const isServer = (r: (typeof rows)[number]): boolean => (r.endpoint === 'resp') !== roles.swapped.has(r.flow_id);
  for (const g of groupBy(rows, (r) => (isServer(r) ? `s|${r.tw_h}|${r.tw_p}` : `c|${r.peer_h}|${r.peer_p}`)).values()) {
    const f = g[0];
    const server = isServer(f);
    const hosts = new Set(g.map((r) => r.tw_h));
    const name = server ? `server ${hostPort(f.tw_h, f.tw_p)}` : hosts.size === 1 ? `client ${f.tw_h} (to ${hostPort(f.peer_h, f.peer_p)})` : `${hosts.size} clients of ${hostPort(f.peer_h, f.peer_p)}`;
    const atEnd = g.filter((r) => r.at_end === 1).length;
    const first = g.filter((r) => r.closed_first === 1).length;
    out.push({
      kind: 'time_wait',
      severity: 'info',
      title: `TIME_WAIT on the ${name}: ${plural(g.length, 'connection')}, ${atEnd} still in TIME_WAIT at capture end`,
      details: [`${server || hosts.size === 1 ? 'It' : 'They'} sent the first FIN in ${first} of ${g.length} (the side that closes first takes TIME_WAIT).`],
      implication: server
        ? `The server closes first, so TIME_WAIT accumulates on the server. Normal for servers that close idle keep-alive connections; it costs no process resources. Only a concern at tens of thousands per client address.`
        : `The client closes first, so TIME_WAIT accumulates on the client. Normal for clients that close after each request; at high rates it can exhaust ephemeral ports (reuse connections, or widen net.ipv4.ip_local_port_range).`,
      facts: {
        role: server ? 'server' : 'client',
        host: server || hosts.size === 1 ? f.tw_h : null,
        hosts: hosts.size,
        port: server ? f.tw_p : null,
        peer: server ? null : hostPort(f.peer_h, f.peer_p),
        count: g.length,
        atEnd,
        closedFirst: first,
      },
      evidence: evidence(db, g.map((r) => r.flow_id), null),
    });
  }
  return out;
}

function closerFingerprints(db: Database, capId: number, roles: MidstreamRoles): Finding[] {
  type Row = { id: number; first_fin_by: 'orig' | 'resp'; orig_h: string; orig_p: number; resp_h: string; resp_p: number; idle_before_fin: number };
  const rows = (
    db
      .prepare(
        `SELECT id, first_fin_by, orig_h, orig_p, resp_h, resp_p, idle_before_fin FROM flows
         WHERE capture_id = ? AND first_fin_by IS NOT NULL AND idle_before_fin IS NOT NULL ORDER BY first_ts, id`,
      )
      .all(capId) as Row[]
  ).map((r): Row =>
    roles.swapped.has(r.id)
      ? { ...r, first_fin_by: r.first_fin_by === 'orig' ? 'resp' : 'orig', orig_h: r.resp_h, orig_p: r.resp_p, resp_h: r.orig_h, resp_p: r.orig_p }
      : r,
  );
  const out: Finding[] = [];
  for (const g of groupBy(rows, (r) => `${r.first_fin_by}|${r.resp_h}|${r.resp_p}`).values()) {
    const f = g[0];
    const server = f.first_fin_by === 'resp';
    const hosts = new Set(g.map((r) => r.orig_h));
    const name = server
      ? `server ${hostPort(f.resp_h, f.resp_p)}`
      : hosts.size === 1
        ? `client ${f.orig_h} (to ${hostPort(f.resp_h, f.resp_p)})`
        : `${hosts.size} clients of ${hostPort(f.resp_h, f.resp_p)}`;
    const fp: IdleFingerprint = idleFingerprint(name, g.map((r) => r.idle_before_fin));
    out.push({
      kind: 'closer_fingerprint',
      severity: 'info',
      title: describeIdle(fp),
      details: [`${server || hosts.size === 1 ? 'It' : 'They'} sent the first FIN in ${plural(fp.total, 'connection')} with a known idle time.`, `Idle before FIN: min ${formatDuration(fp.minS)}, median ${formatDuration(fp.medianS)}, max ${formatDuration(fp.maxS)}.`],
      implication: !fp.timer && fp.timerMode && fp.modes.length >= 2
        ? `Two ways of closing. ${fp.modes[0].medianS < 1 ? `Most closes come right after the last data: the application decides to close (${server ? 'the response said Connection: close, or the client asked for it' : 'it is done with the connection'}). ` : ''}` +
          `${plural(fp.timerMode.count, 'close')} come${fp.timerMode.count === 1 ? 's' : ''} after about ${formatDuration(fp.timerMode.medianS)} without data: ` +
          (server
            ? `that is the server's idle/keep-alive timeout (nginx keepalive_timeout, Apache KeepAliveTimeout, a load balancer's idle timeout). Clients must not keep idle connections to it longer than that.`
            : `that is the client's own idle timeout (e.g. its connection pool's idle eviction).`)
        : fp.timer
        ? `A timer closes these connections: after about ${formatDuration(fp.medianS)} without data the ${server ? 'server' : 'client'} sends FIN. ` +
          (server
            ? `That is its idle/keep-alive timeout (nginx keepalive_timeout, Apache KeepAliveTimeout, a load balancer's idle timeout). Clients must not keep idle connections to it longer than that.`
            : `That is the client's own idle timeout (e.g. its connection pool's idle eviction).`)
        : fp.total < MIN_FOR_TIMER && fp.medianS >= 1
          ? `Too few closes (${fp.total}) to tell an idle timer from the application's own decision.`
          : fp.medianS < 1
          ? `The ${server ? 'server' : 'client'} closes within a second of the last data (median ${formatDuration(fp.medianS)}): the application decides to close, not an idle timer.`
          : `Idle times before the FIN vary: closes are driven by the application, not by one fixed timer.`,
      facts: { role: server ? 'server' : 'client', idleBeforeFin: fp },
      evidence: evidence(db, g.map((r) => r.id), null),
    });
  }
  return out;
}

function findingSize(f: Finding): number {
  return f.evidence.flowIds.length + f.evidence.moreFlows;
}

interface DirRow {
  id: number;
  orig_h: string;
  resp_h: string;
  resp_p: number;
  orig_pkts: number;
  resp_pkts: number;
  orig_retransmissions: number;
  resp_retransmissions: number;
  orig_out_of_order: number;
  resp_out_of_order: number;
  orig_zero_windows: number;
  resp_zero_windows: number;
  close_kind: string;
}

function dirRows(db: Database, capId: number, where: string): DirRow[] {
  return db
    .prepare(
      `SELECT id, orig_h, resp_h, resp_p, orig_pkts, resp_pkts, orig_retransmissions, resp_retransmissions,
              orig_out_of_order, resp_out_of_order, orig_zero_windows, resp_zero_windows, close_kind
       FROM flows WHERE capture_id = ? AND (${where}) ORDER BY first_ts, id`,
    )
    .all(capId) as DirRow[];
}

/** Per sending side and service: segments sent twice, and holes filled late (loss before the capture point). */
/** Linux cooked capture (tcpdump -i any): every interface a packet crosses, bridges and veths included. */
const ANY_LINKTYPES = new Set([113, 276]);

function retransmissions(db: Database, capId: number, capture: ReportCapture): Finding[] {
  // A packet captured on two interfaces (-i any on a host with a bridge or veths, or a pcapng with several interfaces)
  // is on the wire once but in the file twice, with the same sequence number: it counts as a retransmission.
  const multi = capture.linktypes.length > 1 || capture.linktypes.some((l) => ANY_LINKTYPES.has(l));
  const dupNote = multi
    ? ` Caution: this capture ${capture.linktypes.length > 1 ? `has several interfaces (link types ${capture.linktypes.join(', ')})` : 'was taken on all interfaces (Linux cooked, tcpdump -i any)'}; ` +
      `a segment that crossed two of them is in the file twice and counts as a retransmission. Copies microseconds apart (tcpdump -ttt) are such duplicates, not losses.`
    : '';
  const rows = dirRows(db, capId, 'retransmissions > 0 OR orig_out_of_order > 0 OR resp_out_of_order > 0');
  const out: Finding[] = [];
  for (const side of ['orig', 'resp'] as const) {
    const mine = rows.filter((r) => (side === 'orig' ? r.orig_retransmissions + r.orig_out_of_order : r.resp_retransmissions + r.resp_out_of_order) > 0);
    for (const g of groupBy(mine, (r) => `${r.resp_h}|${r.resp_p}`).values()) {
      const f = g[0];
      const svc = hostPort(f.resp_h, f.resp_p);
      const hosts = new Set(g.map((r) => r.orig_h));
      let retrans = 0;
      let ooo = 0;
      let pkts = 0;
      for (const r of g) {
        retrans += side === 'orig' ? r.orig_retransmissions : r.resp_retransmissions;
        ooo += side === 'orig' ? r.orig_out_of_order : r.resp_out_of_order;
        pkts += side === 'orig' ? r.orig_pkts : r.resp_pkts;
      }
      const sender = side === 'resp' ? `server ${svc}` : hosts.size === 1 ? `client ${f.orig_h}` : `${hosts.size} clients of ${svc}`;
      const receiver = side === 'resp' ? (hosts.size === 1 ? `client ${f.orig_h}` : `its ${hosts.size} clients`) : `server ${svc}`;
      const pct = pkts > 0 ? (100 * retrans) / pkts : 0;
      const details: string[] = [];
      if (retrans > 0) details.push(`${plural(retrans, 'retransmitted segment')} (${pct.toFixed(1)} % of the ${pkts} packets it sent) on ${plural(g.length, 'connection')}.`);
      if (ooo > 0) details.push(`${plural(ooo, 'segment')} arrived out of order: holes filled later, lost between ${sender} and the capture point.`);
      // Connections whose close (or SYN) was never answered retransmit their FIN (SYN): reported in their own finding.
      const unackedClose = g.filter((r) => r.close_kind === 'fin_unacked' || r.close_kind === 'last_ack_unacked').length;
      const unansweredSyn = g.filter((r) => r.close_kind === 'no_reply').length;
      if (unackedClose > 0) {
        details.push(`${unackedClose === g.length ? 'All' : unackedClose} of these connections never got their FIN acknowledged: those retransmissions include the FIN's (see that finding).`);
      }
      if (unansweredSyn > 0) {
        details.push(`${unansweredSyn === g.length ? 'All' : unansweredSyn} of these are connection attempts never answered: those retransmissions are SYNs (see that finding).`);
      }
      // A receiver that advertised a zero window had a full buffer: the kernel prunes (drops) segments it has no room for,
      // and the sender retransmits them. That is the receiver's doing, not the path's.
      const zeroWin = g.filter((r) => (side === 'orig' ? r.resp_zero_windows : r.orig_zero_windows) > 0).length;
      if (zeroWin > 0 && retrans > 0) {
        details.push(
          `${zeroWin === g.length ? 'All' : zeroWin} of these connections also had ${receiver} advertise a zero window: ` +
            `a receiver with a full buffer drops segments it has no room for, so these retransmissions may come from the stalled reader rather than the path (see the zero-window finding).`,
        );
      }
      const explained = unackedClose + unansweredSyn;
      // Nothing beyond what the refused/unanswered/unacknowledged findings already say: no separate finding.
      if (explained === g.length && ooo === 0) continue;
      out.push({
        kind: 'retransmissions',
        severity: retrans >= 10 && pct >= 2 && explained < g.length ? 'warning' : 'info',
        title:
          retrans > 0
            ? `${sender} retransmits to ${receiver}: ${retrans} segment${retrans === 1 ? '' : 's'} sent again${ooo > 0 ? `, ${ooo} out of order` : ''}`
            : `segments from ${sender} to ${receiver} lost before the capture point: ${ooo} out of order`,
        details,
        implication:
          zeroWin === g.length && retrans > 0 && ooo === 0
            ? `The receiver's buffer was full (zero window) on every one of these connections: it most likely dropped these segments itself, ` +
              `so look at the reader first (see the zero-window finding). If retransmissions continue once it reads again, the path is losing segments too ` +
              `(congestion, a full queue, a lossy link).` + dupNote
            : `Segments from the ${side === 'orig' ? 'client' : 'server'} side are being lost on the way to the ${side === 'orig' ? 'server' : 'client'} side (or their ACKs are): ` +
          `congestion or a full queue on the path, a lossy link, or an MTU problem. Throughput and latency suffer; it does not by itself leave sockets stuck. ` +
          `Retransmissions seen on the wire were lost after the capture point; out-of-order segments were lost before it.` + dupNote,
        facts: { sender: side === 'orig' ? 'client' : 'server', service: svc, connections: g.length, retransmissions: retrans, outOfOrder: ooo, packets: pkts },
        evidence: evidence(db, g.map((r) => r.id), null),
      });
    }
  }
  return out;
}

/** Receivers that advertised a zero window: their application stopped reading. */
function zeroWindows(db: Database, capId: number): Finding[] {
  const rows = dirRows(db, capId, 'orig_zero_windows > 0 OR resp_zero_windows > 0');
  const out: Finding[] = [];
  for (const side of ['orig', 'resp'] as const) {
    const mine = rows.filter((r) => (side === 'orig' ? r.orig_zero_windows : r.resp_zero_windows) > 0);
    for (const g of groupBy(mine, (r) => `${r.resp_h}|${r.resp_p}`).values()) {
      const f = g[0];
      const svc = hostPort(f.resp_h, f.resp_p);
      const hosts = new Set(g.map((r) => r.orig_h));
      const n = g.reduce((a, r) => a + (side === 'orig' ? r.orig_zero_windows : r.resp_zero_windows), 0);
      const reader = side === 'resp' ? `server ${svc}` : hosts.size === 1 ? `client ${f.orig_h} (of ${svc})` : `${hosts.size} clients of ${svc}`;
      out.push({
        kind: 'zero_window',
        severity: 'warning',
        title: `${reader} stopped reading: zero window on ${plural(g.length, 'connection')} (${plural(n, 'advertisement')})`,
        details: [`Its receive buffer filled up; the peer had to stop sending and probe the window.`],
        implication:
          `The application on the ${side === 'orig' ? 'client' : 'server'} side does not read from these sockets fast enough, or at all: ` +
          `a blocked or overloaded consumer (stuck worker thread, full downstream queue, missing read loop). Look at what that process is doing ` +
          `(thread dump, strace on the socket); the sender's writes block or buffer meanwhile.`,
        facts: { reader: side === 'orig' ? 'client' : 'server', service: svc, connections: g.length, advertisements: n },
        evidence: evidence(db, g.map((r) => r.id), null),
      });
    }
  }
  return out;
}

/** The reader's wording for a last record cut short by the end of the file (tcpdump killed), as opposed to broken framing. */
const CUT_SHORT = /truncated at end of file|cut short/;

function damageFinding(c: ReportCapture, endTs: number | null): Finding[] {
  if (!c.truncated && !c.damage) return [];
  if (c.kind === 'live') return [liveAbortFinding(c, endTs)];
  const cutShort = c.damage === null || CUT_SHORT.test(c.damage);
  const nothing = (c.packets ?? 0) === 0;
  const details = [
    nothing
      ? 'No packet could be read before the damage: the database holds nothing from this capture.'
      : cutShort
        ? 'Every packet before the cut is in the database; only the last, partial record is missing.'
        : 'Reading stopped at the damage: flows read before it are in the database; everything after it in the file was not read.',
  ];
  return [
    {
      kind: 'capture_damage',
      severity: 'warning',
      title: cutShort
        ? `The capture ends in a truncated record: ${c.damage ?? 'the last record is cut short'}`
        : `The capture file is corrupt: ${c.damage}`,
      details,
      implication: cutShort
        ? 'tcpdump was stopped while writing (killed, disk full) or the file was copied while still being written. ' +
          'States at the very end of the capture may be missing their last packet.'
        : 'The file is broken at that byte (a damaged copy or transfer, files glued together, or a writer bug), not just cut short: ' +
          'connections after that point are missing or incomplete. Get the original file again if it is intact, or capture again.',
      facts: { damage: c.damage, cutShort, packetsRead: c.packets },
      evidence: { flowIds: [], moreFlows: 0, sample: null },
    },
  ];
}

/**
 * A live capture whose capturing process died (device error, killed): the
 * supervisor closed its row as damaged, from the last flush. Nothing is
 * corrupt; the states are simply as of that flush. Informational: by itself
 * it does not raise the verdict's severity.
 */
function liveAbortFinding(c: ReportCapture, endTs: number | null): Finding {
  const at = endTs === null ? 'the last flush' : `the last flush at ${formatTs(endTs)}`;
  return {
    kind: 'capture_damage',
    severity: 'info',
    // The supervisor's own line ("live capture on eth0 ended abnormally (SIGABRT): ...") already says it all.
    title:
      c.damage && /^live capture .*ended abnormally/.test(c.damage)
        ? `L${c.damage.slice(1)}`
        : `The live capture ended abnormally${c.damage ? `: ${c.damage}` : ''}`,
    details: [
      `States are as of ${at}: every flow written by then is in the database, with the state it had at that flush; ` +
        `packets after it were not recorded.`,
    ],
    implication:
      'The capturing process stopped before it could finish (the interface went down or was removed, or the process was killed). ' +
      'Nothing in the database is damaged, but connections may have changed state after the last flush: ' +
      'a CLOSE_WAIT listed here may have been closed since. Run wirestate live again to watch them further.',
    facts: { damage: c.damage, cutShort: false, liveAborted: true, lastFlush: isoTs(endTs), packetsRead: c.packets },
    evidence: { flowIds: [], moreFlows: 0, sample: null },
  };
}

export interface ReportOptions {
  captureId?: number;
  /** At most this many findings of each kind (largest first); 0 = all. Default 10. */
  maxPerKind?: number;
  thresholds?: Partial<Thresholds>;
  database?: string;
}

export function buildReport(db: Database, opts: ReportOptions = {}): Report {
  const thresholds: Thresholds = {
    warnCount: opts.thresholds?.warnCount ?? 100,
    warnAgeS: opts.thresholds?.warnAgeS ?? 300,
    critAgeS: opts.thresholds?.critAgeS ?? 1800,
  };
  const captures = (db.prepare('SELECT count(*) AS n FROM captures').get() as { n: number }).n;
  const capId = opts.captureId ?? (db.prepare('SELECT max(id) AS id FROM captures').get() as { id: number | null }).id;
  if (capId === null || capId === undefined) throw new Error('the database holds no capture yet (run wirestate ingest FILE first)');
  const capture = loadCapture(db, capId);
  const endTs = (db.prepare('SELECT end_ts FROM capture_end WHERE capture_id = ?').get(capId) as { end_ts: number | null }).end_ts;

  const byCloseKind: Record<string, number> = {};
  for (const r of db.prepare('SELECT close_kind, count(*) AS n FROM flows WHERE capture_id = ? GROUP BY close_kind ORDER BY n DESC').all(capId) as {
    close_kind: string;
    n: number;
  }[]) {
    byCloseKind[r.close_kind] = r.n;
  }
  const midstreamFlows = (db.prepare('SELECT count(*) AS n FROM flows WHERE capture_id = ? AND midstream = 1').get(capId) as { n: number }).n;
  const roles = inferMidstreamRoles(db, capId);
  const cw = closeWaitFindings(db, capId, thresholds, roles);
  const all: Finding[] = [
    ...damageFinding(capture, endTs),
    ...cw,
    ...resetAfterHalfClose(db, capId, roles),
    ...unackedCloses(db, capId, endTs),
    ...refusedAndUnanswered(db, capId, endTs),
    ...resets(db, capId),
    ...zeroWindows(db, capId),
    ...retransmissions(db, capId, capture),
    ...closerFingerprints(db, capId, roles),
    ...timeWait(db, capId, roles),
  ];
  const findings = [...all];
  // Bound the report: per kind, the largest groups first, the rest counted as omitted.
  const maxPerKind = opts.maxPerKind ?? 10;
  const omitted: Record<string, number> = {};
  if (maxPerKind > 0) {
    const byKind = groupBy(all, (f) => f.kind);
    findings.length = 0;
    for (const [kind, list] of byKind) {
      const sorted = [...list].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || findingSize(b) - findingSize(a));
      findings.push(...sorted.slice(0, maxPerKind));
      if (sorted.length > maxPerKind) omitted[kind] = sorted.length - maxPerKind;
    }
  }
  // Stable order: severity first, then the order above (CLOSE_WAIT leaks lead).
  const order = new Map(all.map((f, i) => [f, i]));
  findings.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || order.get(a)! - order.get(b)!);

  const closeWait = cw.reduce((a, f) => a + (f.facts.count as number), 0);
  const pairs = cw.reduce((a, f) => a + (f.facts.finWait2Pairs as number), 0);
  let severity: Severity | 'ok' = 'ok';
  // An aborted live capture is context, not a finding about the network: it does not set the severity.
  const ranked = (f: Finding): boolean => f.kind !== 'time_wait' && f.kind !== 'closer_fingerprint' && !(f.facts as { liveAborted?: boolean }).liveAborted;
  for (const f of findings) if (ranked(f) && (severity === 'ok' || SEVERITY_RANK[f.severity] > SEVERITY_RANK[severity])) severity = f.severity;
  let verdict: string;
  if (cw.length > 0) {
    const worst = [...cw].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (b.facts.count as number) - (a.facts.count as number))[0];
    verdict = `${worst.title}; stuck since ${formatTs(Date.parse(worst.facts.since as string) / 1000)}.`;
    if (cw.length > 1) verdict += ` ${cw.length - 1} more endpoint group${cw.length > 2 ? 's' : ''} hold CLOSE_WAIT connections.`;
    // Every group, not just the ones shown after the per-kind limit.
    const rst = all.filter((f) => f.kind === 'reset_after_half_close');
    if (rst.length > 0) {
      const n = rst.reduce((a, f) => a + (f.facts.count as number), 0);
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
    const others = findings.filter((f) => f.severity !== 'info' && f.kind !== 'capture_damage');
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
  return roundFloats({
    database: opts.database ?? '',
    capture,
    captures,
    thresholds,
    summary: { flows: capture.flows, byCloseKind, closeWait, finWait2CloseWaitPairs: pairs, midstreamFlows, midstreamRolesInferred: roles.inferred.size, severity, verdict, omitted },
    findings,
  });
}

/** Seconds computed by subtraction carry float noise (69.49958992004395): keep microseconds. */
function roundFloats<T>(v: T): T {
  if (typeof v === 'number') return (Number.isInteger(v) ? v : Math.round(v * 1e6) / 1e6) as T;
  if (Array.isArray(v)) return v.map(roundFloats) as T;
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = roundFloats(x);
    return o as T;
  }
  return v;
}
