import type { Database } from 'better-sqlite3';
import { hostPort } from '../host-port';
import type { Finding } from '../model';
import type { MidstreamRoles } from '../role-inference';
import { evidence } from '../sample-flow';
import { groupBy } from '../stats';
import { plural } from '../wording';
import type { FindingModule } from './finding-module';
import { describePortUse, timeWaitGroupKey, timeWaitPortUse } from './time-wait-ports';

function timeWait(db: Database, capId: number, roles: MidstreamRoles, startTs: number | null): Finding[] {
  const rows = db
    .prepare(
      `SELECT flow_id, endpoint, tw_h, tw_p, peer_h, peer_p, at_end, closed_first FROM time_wait WHERE capture_id = ? ORDER BY since_ts, flow_id`,
    )
    .all(capId) as { flow_id: number; endpoint: 'orig' | 'resp'; tw_h: string; tw_p: number; peer_h: string; peer_p: number; at_end: number; closed_first: number }[];
  const out: Finding[] = [];
  // Servers by service; clients by the service they talk to (one finding, not one per client host).
  const isServer = (r: (typeof rows)[number]): boolean => (r.endpoint === 'resp') !== roles.swapped.has(r.flow_id);
  const ports = rows.length > 0 ? timeWaitPortUse(db, capId, roles) : new Map();
  for (const [key, g] of groupBy(rows, (r) => timeWaitGroupKey(isServer(r), r.tw_h, r.tw_p, r.peer_h, r.peer_p))) {
    const f = g[0];
    const use = ports.get(key) ?? null;
    const server = isServer(f);
    const hosts = new Set(g.map((r) => r.tw_h));
    const name = server ? `server ${hostPort(f.tw_h, f.tw_p)}` : hosts.size === 1 ? `client ${f.tw_h} (to ${hostPort(f.peer_h, f.peer_p)})` : `${hosts.size} clients of ${hostPort(f.peer_h, f.peer_p)}`;
    const atEnd = g.filter((r) => r.at_end === 1).length;
    const first = g.filter((r) => r.closed_first === 1).length;
    out.push({
      kind: 'time_wait',
      // Half the ephemeral ports towards one destination held in TIME_WAIT: new connections are about to fail.
      severity: use?.risk === 'high' ? 'warning' : 'info',
      title: `TIME_WAIT on the ${name}: ${plural(g.length, 'connection')}, ${atEnd} still in TIME_WAIT at capture end`,
      details: [
        `${server || hosts.size === 1 ? 'It' : 'They'} sent the first FIN in ${first} of ${g.length} (the side that closes first takes TIME_WAIT).`,
        ...(use ? [describePortUse(use, startTs ?? 0)] : []),
      ],
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
        ports: use,
      },
      evidence: evidence(db, g.map((r) => r.flow_id), null),
    });
  }
  return out;
}

/** Who holds TIME_WAIT (the side that closed first), per service. Informational. */
export const timeWaitModule: FindingModule = {
  kind: 'time_wait',
  build: (c) => timeWait(c.db, c.captureId, c.roles, c.capture.firstTs === null ? null : Date.parse(c.capture.firstTs) / 1000),
};
