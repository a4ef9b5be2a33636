import type { Database } from 'better-sqlite3';
import { hostPort } from '../host-port';
import type { Finding, ReportCapture } from '../model';
import { evidence } from '../sample-flow';
import { groupBy } from '../stats';
import { plural } from '../wording';
import type { FindingModule } from './finding-module';
import { dirRows } from './flow-rows';

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

/** Per sending side and service: segments sent twice, and holes filled late (loss before the capture point). */
export const retransmissionsModule: FindingModule = { kind: 'retransmissions', build: (c) => retransmissions(c.db, c.captureId, c.capture) };
