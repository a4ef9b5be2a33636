import type { Database } from 'better-sqlite3';
import { formatDuration, formatTs, isoTs } from '../format-time';
import { hostPort } from '../host-port';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { groupBy } from '../stats';
import { plural } from '../wording';
import type { FindingModule } from './finding-module';
import { TAIL_S, atCaptureEnd, flowsOfKind, type FlowRow } from './flow-rows';

function unackedCloses(db: Database, capId: number, endTs: number | null, kind: 'fin_unacked' | 'last_ack_unacked'): Finding[] {
  const out: Finding[] = [];
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
  return out;
}

/** A FIN never acknowledged: the closer stuck in FIN_WAIT_1. */
export const finUnacked: FindingModule = { kind: 'fin_unacked', build: (c) => unackedCloses(c.db, c.captureId, c.endTs, 'fin_unacked') };
/** The answering FIN never acknowledged: the answerer stuck in LAST_ACK. */
export const lastAckUnacked: FindingModule = { kind: 'last_ack_unacked', build: (c) => unackedCloses(c.db, c.captureId, c.endTs, 'last_ack_unacked') };
