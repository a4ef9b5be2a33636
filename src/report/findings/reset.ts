import type { Database } from 'better-sqlite3';
import { formatDuration, formatTs } from '../format-time';
import { hostPort } from '../host-port';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { groupBy, median } from '../stats';
import { plural } from '../wording';
import type { FindingModule, ReportContext } from './finding-module';
import { reportHttpPairs } from './http-pairs';
import { flowsOfKind, type FlowRow } from './flow-rows';

/** Linux keeps an orphaned FIN_WAIT_2 socket (closed by its application) this long by default: net.ipv4.tcp_fin_timeout. */
const LINUX_FIN_TIMEOUT_S = 60;

/**
 * The side that sent the first FIN also sent the RST, after its peer's own FIN
 * (close kind reset, not reset_after_half_close: the peer sent no data into
 * the half-closed connection): the peer closed late, and the closer no longer
 * had the socket to answer its FIN with an ACK.
 */
function lateClose(r: FlowRow): boolean {
  return r.first_fin_by !== null && r.first_rst_by === r.first_fin_by;
}

/** The peer's own FIN (its CLOSE_WAIT -> LAST_ACK), epoch s, per flow. */
function peerFinTimes(db: Database, ids: readonly number[]): Map<number, number> {
  const q = db.prepare(`SELECT min(ts) AS t FROM transitions WHERE flow_id = ? AND from_state = 'CLOSE_WAIT' AND to_state = 'LAST_ACK'`);
  const out = new Map<number, number>();
  for (const id of ids) {
    const t = (q.get(id) as { t: number | null }).t;
    if (t !== null) out.set(id, t);
  }
  return out;
}

function lateCloseFinding(db: Database, g: FlowRow[]): Finding {
  const f = g[0];
  const svc = hostPort(f.resp_h, f.resp_p);
  const byServer = f.first_rst_by === 'resp';
  const closer = byServer ? `server ${svc}` : `client ${f.orig_h}`;
  const peer = byServer ? 'client' : 'server';
  const peerFin = peerFinTimes(db, g.map((r) => r.id));
  const waits = g
    .map((r) => (r.first_fin_ts !== null && peerFin.has(r.id) ? (peerFin.get(r.id) as number) - r.first_fin_ts : null))
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  const pastTimeout = waits.filter((w) => w > LINUX_FIN_TIMEOUT_S).length;
  const med = waits.length > 0 ? median(waits) : null;
  const span =
    waits.length === 0
      ? ''
      : formatDuration(waits[0]) === formatDuration(waits[waits.length - 1])
        ? formatDuration(waits[0])
        : `${formatDuration(waits[0])} to ${formatDuration(waits[waits.length - 1])} (median ${formatDuration(med as number)})`;
  return {
    kind: 'reset',
    severity: 'info',
    title: `${plural(g.length, 'connection')} with ${svc}: the ${peer} closed ${med !== null ? `${formatDuration(med)} ` : ''}after the ${byServer ? 'server' : 'client'}'s FIN and drew an RST from it`,
    details: [
      `${closer} sent the first FIN; the ${peer} acknowledged it, stayed in CLOSE_WAIT${span ? ` ${span}` : ''}, then sent its own FIN, and ${byServer ? 'the server' : 'the client'} answered that FIN with an RST: it no longer had the socket.`,
      pastTimeout > 0
        ? `${pastTimeout === g.length ? (g.length === 1 ? 'It' : 'All') : `${pastTimeout} of them`} came more than ${LINUX_FIN_TIMEOUT_S} s after the FIN: longer than Linux keeps an orphaned FIN_WAIT_2 socket (net.ipv4.tcp_fin_timeout, ${LINUX_FIN_TIMEOUT_S} s by default).`
        : `Each came within ${LINUX_FIN_TIMEOUT_S} s of the FIN: shorter than Linux's default tcp_fin_timeout, so that side's socket was gone sooner (a shorter tcp_fin_timeout, or its application reset it).`,
    ],
    implication:
      `The ${byServer ? 'server' : 'client'} closed these connections and its kernel later dropped the closed (orphaned) socket without a packet; ` +
      `the ${peer}'s application noticed the close only when it next used or closed the connection, and by then only an RST could answer. ` +
      `This is how a CLOSE_WAIT leak ends: harmless in itself, but each one was a ${peer} socket held idle in CLOSE_WAIT that long. ` +
      `The fix is the ${peer}'s: close a connection when the peer closes it (read end-of-file), or evict idle pooled connections before the ${byServer ? 'server' : 'client'}'s idle timeout.`,
    facts: {
      service: svc,
      count: g.length,
      resetBy: byServer ? 'server' : 'client',
      afterPeerFin: true,
      closeWaitS: waits.length > 0 ? { min: waits[0], median: med, max: waits[waits.length - 1] } : null,
      pastFinTimeout: pastTimeout,
    },
    evidence: evidence(db, g.map((r) => r.id), f.id),
  };
}

function resets(ctx: ReportContext): Finding[] {
  const { db, captureId: capId } = ctx;
  // The keep-alive races answered by a bare RST are bare RSTs too: their own finding says more.
  const races = new Set(reportHttpPairs(ctx).flatMap((p) => p.raceIds));
  const rows = flowsOfKind(db, capId, 'reset').filter((r) => !races.has(r.id));
  const out: Finding[] = [];
  for (const g of groupBy(rows, (r) => `${r.resp_h}|${r.resp_p}|${r.first_rst_by}|${lateClose(r) ? 'late' : ''}`).values()) {
    if (lateClose(g[0])) {
      out.push(lateCloseFinding(db, g));
      continue;
    }
    const f = g[0];
    const svc = hostPort(f.resp_h, f.resp_p);
    const bySrv = f.first_rst_by === 'resp';
    const afterFin = g.filter((r) => r.first_fin_by !== null).length;
    out.push({
      kind: 'reset',
      severity: 'info',
      title: `${plural(g.length, 'connection')} with ${svc} ended by an RST from the ${bySrv ? 'server' : 'client'}`,
      details: [
        afterFin === 0
          ? `Without a FIN before the reset.`
          : afterFin === g.length
            ? `After the other side's FIN, before the close completed.`
            : `${g.length - afterFin} without a FIN before the reset, ${afterFin} after the other side's FIN.`,
      ],
      implication: bySrv
        ? `The server aborted these connections (application abort or SO_LINGER 0, unread data at close, or a crash/restart). Check the server's logs around ${formatTs(f.last_ts)}.`
        : `The client aborted these connections (timeout-driven abort, SO_LINGER 0, or closing with unread data). Usually a client-side timeout or cancellation.`,
      facts: { service: svc, count: g.length, resetBy: bySrv ? 'server' : 'client', afterPeerFin: false },
      evidence: evidence(db, g.map((r) => r.id), f.id),
    });
  }
  return out;
}

/**
 * Connections ended by an RST without a completed close, but for the
 * keep-alive races (reported as such): grouped by service and by who reset,
 * and apart from them the late closes of a CLOSE_WAIT leak (the peer's FIN
 * long after the first, answered by an RST: the closer's socket was gone).
 */
export const reset: FindingModule = { kind: 'reset', build: resets };
