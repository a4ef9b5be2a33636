import type { Database } from 'better-sqlite3';
import { formatDuration, formatTs, isoTs } from '../format-time';
import { hostPort } from '../host-port';
import { describeIdle, idleFingerprint } from '../idle-fingerprint';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { median } from '../stats';
import { SEVERITY_RANK, severityFor } from '../thresholds';
import { plural } from '../wording';
import type { FindingModule, ReportContext } from './finding-module';
import { clientName, namesSoftware, pairOf, serverName, serverTimeoutS, settingAdvice, softwareFacts, softwareLine, type HttpPair } from './http-pairs';
import { closeWaitGroupKey, closeWaitHistories, describeGrowth } from './close-wait-growth';

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
  captured_only: 'orig' | 'resp' | null;
}

function closeWaitFindings(ctx: ReportContext): Finding[] {
  const { db, captureId: capId, thresholds: t, roles } = ctx;
  const rows = db
    .prepare(
      `SELECT cw.flow_id, cw.stuck_side, cw.stuck_h, cw.stuck_p, cw.peer_h, cw.peer_p, cw.peer_state, cw.since_ts, cw.stuck_s,
              f.first_fin_by, f.idle_before_fin, f.captured_only
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
    const key = closeWaitGroupKey(isClient(r), r.stuck_h, r.stuck_p, r.peer_h, r.peer_p);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  const out: Finding[] = [];
  // Only the flows of the stuck hosts need decoding: a group's stays are all on its stuck host.
  const history = groups.size > 0 ? closeWaitHistories(db, capId, roles, [...new Set(rows.map((r) => r.stuck_h))]) : null;
  for (const [key, g] of groups) {
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
    let { severity, why } = severityFor(g.length, oldest, t);
    // Over time (close-wait-growth.ts); the age thresholds apply to the endpoints that left CLOSE_WAIT too.
    const h = history?.groups.get(key);
    const growth = h && history ? describeGrowth(h, history.startUs, history.endUs, t) : null;
    if (growth?.leftSeverity && SEVERITY_RANK[growth.leftSeverity] > SEVERITY_RANK[severity]) {
      severity = growth.leftSeverity;
      why = `endpoints that left CLOSE_WAIT had stayed up to ${formatDuration(growth.facts.leftDurations!.maxS)}`;
    }
    const rate = leakRate(g.length, newestSince - since);
    // A pooled client's leak: the software on both sides when the HTTP headers named it (flows picked up mid-stream aside).
    const pair: HttpPair | undefined = client && first.stuck_side === 'orig' ? pairOf(ctx, first.stuck_h, first.peer_h, first.peer_p) : undefined;
    const named = pair !== undefined && namesSoftware(pair);
    const serverS = pair ? serverTimeoutS(pair) : null;
    const serverCloses = serverS !== null ? `, which closes after ${formatDuration(serverS)} idle` : '';
    const stuckName = client ? `client ${first.stuck_h}` : `server ${hostPort(first.stuck_h, first.stuck_p)}`;
    const peerName = named ? serverName(pair) : client ? `server ${hostPort(first.peer_h, first.peer_p)}` : peers.size === 1 ? `client ${[...peers.keys()][0]}` : `${peers.size} clients`;
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
    if (pair) details.push(softwareLine(pair));
    if (growth) details.splice(2, 0, ...growth.lines);
    if (inferred > 0) {
      const svc = client ? hostPort(first.peer_h, first.peer_p) : hostPort(first.stuck_h, first.stuck_p);
      details.push(
        `Client and server inferred: the capture started after ${inferred === g.length ? (g.length === 1 ? 'this connection was' : `all ${g.length} were`) : `${inferred} of them were`} opened, ` +
          `so no handshake was captured; ${svc} recurs across the capture's connections while the other side's ports vary, so it is taken as the service.`,
      );
    }
    const oneWay = g.filter((r) => r.captured_only !== null).length;
    if (oneWay > 0) {
      // Only the stuck side's packets were captured: its ACK of the FIN proves the CLOSE_WAIT, the FIN itself is inferred.
      details.push(
        `${oneWay === g.length ? (g.length === 1 ? 'It was' : `All ${g.length} were`) : `${oneWay} of them were`} captured one direction only: ` +
          `the ${client ? 'server' : 'client'}'s FIN is inferred from the ${client ? 'client' : 'server'}'s ACK of it.`,
      );
    }
    let implication: string;
    if (client) {
      // With the HTTP pair, the setting advice states the server's timeout itself.
      const timer = fp && fp.timer && !pair ? ` ${hostPort(first.peer_h, first.peer_p)} closes idle connections after about ${formatDuration(fp.medianS)} (its keep-alive timeout).` : '';
      implication =
        `The client at ${first.stuck_h} received the server's FIN and its kernel acknowledged it, ` +
        `but the application never closed its socket: the connections sit idle in its connection pool, which ` +
        `does not notice connections closed by the server.${timer} ` +
        (pair
          ? `${settingAdvice(pair, serverS)} And make sure every code path closes or releases its connection. `
          : `Look at the client's HTTP/connection-pool configuration: evict idle connections before the server's ` +
            `keep-alive timeout${fp && fp.timer ? ` (shorter than ${formatDuration(fp.medianS)})` : ''}, or validate a connection before reusing it, ` +
            `and make sure every code path closes or releases its connection. `) +
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
        ? named
          ? `${clientName(pair)} leaks connections to ${peerName}${serverCloses}: ${g.length} in CLOSE_WAIT, oldest ${formatDuration(oldest)}`
          : `${stuckName} leaks connections to ${hostPort(first.peer_h, first.peer_p)}: ${g.length} in CLOSE_WAIT, oldest ${formatDuration(oldest)}`
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
        growth: growth ? growth.facts : null,
        // What the HTTP headers said of both sides (null: no HTTP seen between them).
        software: pair ? softwareFacts(pair, serverS) : null,
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

/** Endpoints stuck in CLOSE_WAIT at capture end, grouped by the stuck side: who leaks, since when, why. */
export const closeWait: FindingModule = {
  kind: 'close_wait',
  build: closeWaitFindings,
};
