import type { Database } from 'better-sqlite3';
import { formatDuration, formatTs } from '../format-time';
import { hostPort } from '../host-port';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { groupBy } from '../stats';
import { plural } from '../wording';
import type { FindingModule } from './finding-module';
import { TAIL_S, atCaptureEnd, flowsOfKind } from './flow-rows';

function refusedOrUnanswered(db: Database, capId: number, endTs: number | null, kind: 'refused' | 'no_reply'): Finding[] {
  const out: Finding[] = [];
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
  return out;
}

/** Connection attempts answered with RST. */
export const refused: FindingModule = { kind: 'refused', build: (c) => refusedOrUnanswered(c.db, c.captureId, c.endTs, 'refused') };
/** Connection attempts never answered (SYN without reply). */
export const noReply: FindingModule = { kind: 'no_reply', build: (c) => refusedOrUnanswered(c.db, c.captureId, c.endTs, 'no_reply') };
