import type { Database } from 'better-sqlite3';
import { formatDuration } from '../format-time';
import { hostPort } from '../host-port';
import { describeIdle, idleFingerprint, MIN_FOR_TIMER } from '../idle-fingerprint';
import type { Finding, IdleFingerprint } from '../model';
import type { MidstreamRoles } from '../role-inference';
import { evidence } from '../sample-flow';
import { groupBy } from '../stats';
import { plural } from '../wording';
import type { FindingModule } from './finding-module';

/** The connections one closer sent the first FIN on, with their idle time before it. */
export interface CloserIdleGroup {
  /** "server 10.0.0.5:80", "client 10.0.0.7 (to 10.0.0.5:80)", "3 clients of 10.0.0.5:80". */
  name: string;
  server: boolean;
  hosts: number;
  flowIds: number[];
  /** Seconds, in the order of the flows. */
  idles: number[];
}

/**
 * Idle time before the first FIN grouped by closer: a server by its service,
 * clients by the service they talk to. Mid-stream flows take their roles from fan-in.
 * The closer_fingerprint finding and the HTML report's histograms both read it.
 */
export function closerIdleGroups(db: Database, capId: number, roles: MidstreamRoles): CloserIdleGroup[] {
  type Row = { id: number; first_fin_by: 'orig' | 'resp'; orig_h: string; orig_p: number; resp_h: string; resp_p: number; idle_before_fin: number };
  const rows = (
    db
      .prepare(
        `SELECT id, first_fin_by, orig_h, orig_p, resp_h, resp_p, idle_before_fin FROM flows
         WHERE capture_id = ? AND first_fin_by IS NOT NULL AND idle_before_fin IS NOT NULL ORDER BY first_ts, id`,
      )
      .all(capId) as Row[]
  ).map((r): Row =>
    roles.swapped.has(r.id)
      ? { ...r, first_fin_by: r.first_fin_by === 'orig' ? 'resp' : 'orig', orig_h: r.resp_h, orig_p: r.resp_p, resp_h: r.orig_h, resp_p: r.orig_p }
      : r,
  );
  const out: CloserIdleGroup[] = [];
  for (const g of groupBy(rows, (r) => `${r.first_fin_by}|${r.resp_h}|${r.resp_p}`).values()) {
    const f = g[0];
    const server = f.first_fin_by === 'resp';
    const hosts = new Set(g.map((r) => r.orig_h)).size;
    const name = server
      ? `server ${hostPort(f.resp_h, f.resp_p)}`
      : hosts === 1
        ? `client ${f.orig_h} (to ${hostPort(f.resp_h, f.resp_p)})`
        : `${hosts} clients of ${hostPort(f.resp_h, f.resp_p)}`;
    out.push({ name, server, hosts, flowIds: g.map((r) => r.id), idles: g.map((r) => r.idle_before_fin) });
  }
  return out;
}

function closerFingerprints(db: Database, capId: number, roles: MidstreamRoles): Finding[] {
  const out: Finding[] = [];
  for (const { name, server, hosts, flowIds, idles } of closerIdleGroups(db, capId, roles)) {
    const fp: IdleFingerprint = idleFingerprint(name, idles);
    out.push({
      kind: 'closer_fingerprint',
      severity: 'info',
      title: describeIdle(fp),
      details: [`${server || hosts === 1 ? 'It' : 'They'} sent the first FIN in ${plural(fp.total, 'connection')} with a known idle time.`, `Idle before FIN: min ${formatDuration(fp.minS)}, median ${formatDuration(fp.medianS)}, max ${formatDuration(fp.maxS)}.`],
      implication: !fp.timer && fp.timerMode && fp.modes.length >= 2
        ? `Two ways of closing. ${fp.modes[0].medianS < 1 ? `Most closes come right after the last data: the application decides to close (${server ? 'the response said Connection: close, or the client asked for it' : 'it is done with the connection'}). ` : ''}` +
          `${plural(fp.timerMode.count, 'close')} come${fp.timerMode.count === 1 ? 's' : ''} after about ${formatDuration(fp.timerMode.medianS)} without data: ` +
          (server
            ? `that is the server's idle/keep-alive timeout (nginx keepalive_timeout, Apache KeepAliveTimeout, a load balancer's idle timeout). Clients must not keep idle connections to it longer than that.`
            : `that is the client's own idle timeout (e.g. its connection pool's idle eviction).`)
        : fp.timer
        ? `A timer closes these connections: after about ${formatDuration(fp.medianS)} without data the ${server ? 'server' : 'client'} sends FIN. ` +
          (server
            ? `That is its idle/keep-alive timeout (nginx keepalive_timeout, Apache KeepAliveTimeout, a load balancer's idle timeout). Clients must not keep idle connections to it longer than that.`
            : `That is the client's own idle timeout (e.g. its connection pool's idle eviction).`)
        : fp.total < MIN_FOR_TIMER && fp.medianS >= 1
          ? `Too few closes (${fp.total}) to tell an idle timer from the application's own decision.`
          : fp.medianS < 1
          ? `The ${server ? 'server' : 'client'} closes within a second of the last data (median ${formatDuration(fp.medianS)}): the application decides to close, not an idle timer.`
          : `Idle times before the FIN vary: closes are driven by the application, not by one fixed timer.`,
      facts: { role: server ? 'server' : 'client', idleBeforeFin: fp },
      evidence: evidence(db, flowIds, null),
    });
  }
  return out;
}

/** Idle time before the first FIN per closer: the fingerprint of a keep-alive timer. Informational. */
export const closerFingerprint: FindingModule = { kind: 'closer_fingerprint', build: (c) => closerFingerprints(c.db, c.captureId, c.roles) };
