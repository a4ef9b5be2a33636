import type { ClickHouseSink } from './clickhouse-sink';
import type { FleetCloserRow, FleetCloseWaitRow, FleetHostRow, FleetInput } from '../report/fleet-report';

/** Idle times kept per host and service (enough for a fingerprint; bounds the answer's size). */
const IDLES_PER_GROUP = 10000;

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Read what the fleet report needs from ClickHouse: the hosts, every
 * CLOSE_WAIT endpoint (close_wait view) and the closers' idle times, of the
 * captures of the chosen hosts that reach past `sinceTs`. Plain SQL that
 * 18.16 runs (FINAL, tuple IN, groupArray(N)).
 */
export async function readFleet(sink: ClickHouseSink, opts: { hosts: string[]; sinceTs: number | null }): Promise<FleetInput> {
  const conds = ['1'];
  if (opts.hosts.length > 0) conds.push(`host IN (${opts.hosts.map(quote).join(', ')})`);
  if (opts.sinceTs !== null) conds.push(`ifNull(last_ts, ingested_at) >= ${opts.sinceTs}`);
  const inCaptures = `(host, capture_id) IN (SELECT host, id FROM captures FINAL WHERE ${conds.join(' AND ')})`;
  const serverVersion = await sink.version();
  // Aliases differ from the column names: in ClickHouse an alias shadows the column inside the same SELECT.
  const hosts = await sink.select<{ host: string; n: string; t0: number | null; t1: number | null }>(
    `SELECT host, count() AS n, min(first_ts) AS t0, max(ifNull(last_ts, first_ts)) AS t1
     FROM captures FINAL WHERE ${conds.join(' AND ')} GROUP BY host ORDER BY host`,
  );
  const cw = await sink.select<{ host: string; stuck_side: 'orig' | 'resp'; stuck_h: string; stuck_p: string; peer_h: string; peer_p: string; stuck_s: number; since_ts: number }>(
    `SELECT host, stuck_side, stuck_h, stuck_p, peer_h, peer_p, stuck_s, since_ts FROM close_wait WHERE ${inCaptures}`,
  );
  const closers = await sink.select<{ host: string; first_fin_by: 'orig' | 'resp'; resp_h: string; resp_p: string; idles: number[] }>(
    `SELECT host, first_fin_by, resp_h, resp_p, groupArray(${IDLES_PER_GROUP})(idle_before_fin) AS idles
     FROM flows FINAL
     WHERE first_fin_by IS NOT NULL AND idle_before_fin IS NOT NULL AND ${inCaptures}
     GROUP BY host, first_fin_by, resp_h, resp_p`,
  );
  return {
    clickhouse: sink.target.display,
    serverVersion,
    sinceTs: opts.sinceTs,
    hostFilter: opts.hosts,
    hosts: hosts.map((h): FleetHostRow => ({ host: h.host, captures: Number(h.n), firstTs: h.t0, lastTs: h.t1 })),
    closeWait: cw.map(
      (r): FleetCloseWaitRow => ({
        host: r.host,
        stuckSide: r.stuck_side,
        stuckH: r.stuck_h,
        stuckP: Number(r.stuck_p),
        peerH: r.peer_h,
        peerP: Number(r.peer_p),
        stuckS: r.stuck_s,
        sinceTs: r.since_ts,
      }),
    ),
    closers: closers.map((r): FleetCloserRow => ({ host: r.host, closedBy: r.first_fin_by, serviceH: r.resp_h, serviceP: Number(r.resp_p), idles: r.idles.map(Number) })),
  };
}
