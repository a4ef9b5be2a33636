import { formatDuration } from '../format-time';
import { hostPort } from '../host-port';
import { describeIdle, idleFingerprint } from '../idle-fingerprint';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { groupBy, median } from '../stats';
import { plural } from '../wording';
import type { FindingModule, ReportContext } from './finding-module';
import { flowsOfKind, withRoles } from './flow-rows';
import { reportHttpPairs } from './http-pairs';

function resetAfterHalfClose(ctx: ReportContext): Finding[] {
  const { db, captureId: capId, roles } = ctx;
  // A request lost to the keep-alive race is reported by that finding (software, both timeouts, the setting): not twice.
  const races = new Set(reportHttpPairs(ctx).flatMap((p) => p.finRaceResetIds));
  const all = flowsOfKind(db, capId, 'reset_after_half_close').map((r) => withRoles(r, roles));
  const rows = all.filter((r) => !races.has(r.id));
  const keyOf = (r: (typeof all)[number]): string => (r.first_fin_by === 'resp' ? `c|${r.orig_h}|${r.resp_h}|${r.resp_p}` : `s|${r.resp_h}|${r.resp_p}`);
  const racesOf = new Map<string, number>();
  for (const r of all) if (races.has(r.id)) racesOf.set(keyOf(r), (racesOf.get(keyOf(r)) ?? 0) + 1);
  const rstTs = db.prepare(`SELECT min(ts) AS t FROM transitions WHERE flow_id = ? AND to_state = 'CLOSED' AND cause LIKE '%RST%'`);
  const out: Finding[] = [];
  // The half-closed side is the one that did NOT send the first FIN.
  for (const [key, g] of groupBy(rows, keyOf)) {
    const f = g[0];
    const asRaces = racesOf.get(key) ?? 0;
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
      asRaces > 0 ? `${plural(asRaces, 'more such connection')} with the same peers carried an HTTP request lost to the keep-alive race: reported in that finding.` : '',
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
        keepaliveRaces: asRaces,
      },
      evidence: evidence(db, g.map((r) => r.id), f.id, roles),
    });
  }
  return out;
}

/**
 * One side wrote into a connection the peer had half-closed and drew an RST:
 * the stale pooled connection. The HTTP requests among them that met the
 * server's idle close are the keep-alive race finding's (keepalive-race.ts),
 * which says more; the rest are this one's.
 */
export const resetAfterHalfCloseModule: FindingModule = {
  kind: 'reset_after_half_close',
  build: resetAfterHalfClose,
};
