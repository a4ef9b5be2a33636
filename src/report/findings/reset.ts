import { formatTs } from '../format-time';
import { hostPort } from '../host-port';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { groupBy } from '../stats';
import { plural } from '../wording';
import type { FindingModule, ReportContext } from './finding-module';
import { reportHttpPairs } from './http-pairs';
import { flowsOfKind } from './flow-rows';

function resets(ctx: ReportContext): Finding[] {
  const { db, captureId: capId } = ctx;
  // The keep-alive races answered by a bare RST are bare RSTs too: their own finding says more.
  const races = new Set(reportHttpPairs(ctx).flatMap((p) => p.raceIds));
  const rows = flowsOfKind(db, capId, 'reset').filter((r) => !races.has(r.id));
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

/** Connections ended by an RST without a FIN before it, but for the keep-alive races (reported as such). */
export const reset: FindingModule = { kind: 'reset', build: resets };
