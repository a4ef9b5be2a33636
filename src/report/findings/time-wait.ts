import type { Database } from 'better-sqlite3';
import { readStateStays, type StateStays } from '../../store/state-stays';
import { hostPort } from '../host-port';
import type { Finding } from '../model';
import type { MidstreamRoles } from '../role-inference';
import { evidence } from '../sample-flow';
import { groupBy } from '../stats';
import { plural } from '../wording';
import type { FindingModule } from './finding-module';
import { describePortUse, timeWaitGroupKey, timeWaitPortUse } from './time-wait-ports';

interface TwRow {
  flow_id: number;
  endpoint: 'orig' | 'resp';
  tw_h: string;
  tw_p: number;
  peer_h: string;
  peer_p: number;
  at_end: number;
  closed_first: number;
}

/**
 * The rows of the time_wait view for one capture, in its order (since_ts,
 * flow_id), decoded by readStateStays (the timelines scanned in JavaScript,
 * not through json_each); the stays are returned too, for the port-use
 * measure. at_end and closed_first come from the flows, as the view has them.
 */
function timeWaitRows(db: Database, capId: number): { rows: TwRow[]; stays: StateStays } {
  const stays = readStateStays(db, { captureId: capId, states: ['TIME_WAIT'] });
  const ends = new Map<number, { first_fin_by: string | null; orig_state: string; resp_state: string }>();
  for (const r of db
    .prepare(
      `SELECT f.id, f.first_fin_by, f.orig_state, f.resp_state FROM flows f JOIN flow_transitions ft ON ft.flow_id = f.id
       WHERE f.capture_id = ? AND ft.time_wait = 1`,
    )
    .all(capId) as { id: number; first_fin_by: string | null; orig_state: string; resp_state: string }[]) {
    ends.set(r.id, r);
  }
  const f = stays.flows;
  const order: number[] = [];
  for (let i = 0; i < stays.n; i++) order.push(i);
  order.sort((a, b) => stays.fromUs[a] - stays.fromUs[b] || f.id[stays.flow[a]] - f.id[stays.flow[b]] || stays.endpoint[a] - stays.endpoint[b]);
  const rows: TwRow[] = [];
  for (const i of order) {
    const fi = stays.flow[i];
    const orig = stays.endpoint[i] === 0;
    const endpoint = orig ? 'orig' : 'resp';
    const e = ends.get(f.id[fi]);
    rows.push({
      flow_id: f.id[fi],
      endpoint,
      tw_h: orig ? f.origH[fi] : f.respH[fi],
      tw_p: orig ? f.origP[fi] : f.respP[fi],
      peer_h: orig ? f.respH[fi] : f.origH[fi],
      peer_p: orig ? f.respP[fi] : f.origP[fi],
      at_end: e !== undefined && (orig ? e.orig_state : e.resp_state) === 'TIME_WAIT' ? 1 : 0,
      closed_first: e !== undefined && e.first_fin_by === endpoint ? 1 : 0,
    });
  }
  return { rows, stays };
}

function timeWait(db: Database, capId: number, roles: MidstreamRoles, startTs: number | null): Finding[] {
  const { rows, stays } = timeWaitRows(db, capId);
  const out: Finding[] = [];
  // Servers by service; clients by the service they talk to (one finding, not one per client host).
  const isServer = (r: TwRow): boolean => (r.endpoint === 'resp') !== roles.swapped.has(r.flow_id);
  const ports = rows.length > 0 ? timeWaitPortUse(stays, roles) : new Map();
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
