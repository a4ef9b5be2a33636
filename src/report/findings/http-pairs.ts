import type { Database } from 'better-sqlite3';
import type { ReportContext } from './finding-module';
import { knownSoftware, type KnownSoftware } from '../../app/known-software';
import { formatDuration } from '../format-time';
import { hostPort } from '../host-port';
import { idleFingerprint } from '../idle-fingerprint';
import type { IdleFingerprint } from '../model';

/**
 * HTTP facts (http_flows, schema versions 6 and 8) gathered per client address and
 * server address:port, for the findings that name the software on each side
 * (close-wait.ts names the software of a leak) and the keep-alive race (keepalive-race.ts).
 */
export interface HttpPair {
  clientH: string;
  serverH: string;
  serverP: number;
  flowIds: number[];
  /** Flows whose client side is left in CLOSE_WAIT. */
  leakedIds: number[];
  /** Flows whose HTTP close kind is keepalive_race (either signal). */
  raceIds: number[];
  lostRequests: number;
  /** The races whose requests met the server's FIN / a bare RST (http_flows.race_signal), and their lost requests. */
  finRaceIds: number[];
  rstRaceIds: number[];
  /**
   * The FIN races that ended in an RST after the server's FIN (TCP close
   * kind reset_after_half_close): the connections the TCP view calls stale
   * reuse, which the keep-alive race finding reports instead of it.
   */
  finRaceResetIds: number[];
  finLostRequests: number;
  rstLostRequests: number;
  /** FIN -> request delays of the FIN races (s), sorted. */
  finToRequest: number[];
  /** RST -> request delays of the RST races (s), sorted: negative when the RST answered the request. */
  rstToRequest: number[];
  /** RST races: the connection's idle time before the reset request, and at the RST (s), sorted; from the exchanges. */
  rstReuseIdle: number[];
  rstIdleAtRst: number[];
  /** Most common User-Agent / Server on the pair (null: none seen). */
  userAgent: string | null;
  server: string | null;
  /** The server's advertised Keep-Alive: timeout=N (largest seen). */
  advertisedTimeoutS: number | null;
  /** Idle before the server's FIN, as a timer fingerprint (server-first FINs only). */
  serverIdle: IdleFingerprint | null;
  /** The longest the client let a connection sit idle and then reused it (s). */
  clientReuseMaxS: number | null;
  /** The client address also answers HTTP as a server in this capture (a proxy or gateway). */
  clientIsProxy: boolean;
  clientSoftware: KnownSoftware | null;
  serverSoftware: KnownSoftware | null;
}

interface Row {
  id: number;
  orig_h: string;
  resp_h: string;
  resp_p: number;
  orig_state: string;
  first_fin_by: string | null;
  idle_before_fin: number | null;
  user_agent: string | null;
  server: string | null;
  keepalive_timeout: number | null;
  longest_reuse_idle: number | null;
  close_kind: string | null;
  race_requests: number;
  fin_to_request: number | null;
  race_signal: string | null;
  signal_to_request: number | null;
  /** flows.close_kind (the TCP view). */
  tcp_close_kind: string;
}

/**
 * A row from the query's array (better-sqlite3's raw mode): one object
 * literal of a fixed shape, about half the cost of the named rows for the
 * ~50k HTTP flows of a large capture.
 */
function rowOf(x: unknown[]): Row {
  return {
    id: x[0] as number,
    orig_h: x[1] as string,
    resp_h: x[2] as string,
    resp_p: x[3] as number,
    orig_state: x[4] as string,
    first_fin_by: x[5] as string | null,
    idle_before_fin: x[6] as number | null,
    user_agent: x[7] as string | null,
    server: x[8] as string | null,
    keepalive_timeout: x[9] as number | null,
    longest_reuse_idle: x[10] as number | null,
    close_kind: x[11] as string | null,
    race_requests: x[12] as number,
    fin_to_request: x[13] as number | null,
    race_signal: x[14] as string | null,
    signal_to_request: x[15] as number | null,
    tcp_close_kind: x[16] as string,
  };
}

const sorted = (v: (number | null)[]): number[] => v.filter((x): x is number => x !== null).sort((a, b) => a - b);

/**
 * For RST races: how long the connection had been idle when the reset
 * request was sent and when the RST came (from the end of the response
 * before that request; http_exchanges). A flow whose previous exchange was
 * not stored is left out.
 */
function rstIdles(db: Database, races: Row[]): { reuse: number[]; atRst: number[] } {
  const reuse: number[] = [];
  const atRst: number[] = [];
  const q = db.prepare(`SELECT request_ts, first_response_ts, response_end_ts FROM http_exchanges WHERE flow_id = ? ORDER BY seq`);
  for (const r of races) {
    if (r.signal_to_request === null) continue;
    const x = q.all(r.id) as { request_ts: number | null; first_response_ts: number | null; response_end_ts: number | null }[];
    const k = x.findIndex((e) => e.request_ts !== null && e.first_response_ts === null);
    if (k < 1 || x[k - 1].response_end_ts === null) continue;
    const end = x[k - 1].response_end_ts as number;
    const req = x[k].request_ts as number;
    reuse.push(req - end);
    atRst.push(req - r.signal_to_request - end);
  }
  return { reuse: reuse.sort((a, b) => a - b), atRst: atRst.sort((a, b) => a - b) };
}

function mostCommon(values: (string | null)[]): string | null {
  const n = new Map<string, number>();
  for (const v of values) if (v !== null) n.set(v, (n.get(v) ?? 0) + 1);
  let best: string | null = null;
  let bestN = 0;
  for (const [v, c] of n) if (c > bestN) [best, bestN] = [v, c];
  return best;
}

const pairKey = (clientH: string, serverH: string, serverP: number): string => `${clientH}|${serverH}|${serverP}`;
const pairsOfReport = new WeakMap<ReportContext, { list: HttpPair[]; byKey: Map<string, HttpPair> }>();

function pairsOf(ctx: ReportContext): { list: HttpPair[]; byKey: Map<string, HttpPair> } {
  let pairs = pairsOfReport.get(ctx);
  if (pairs === undefined) {
    const list = httpPairs(ctx.db, ctx.captureId);
    pairsOfReport.set(ctx, (pairs = { list, byKey: new Map(list.map((p) => [pairKey(p.clientH, p.serverH, p.serverP), p])) }));
  }
  return pairs;
}

/**
 * The HTTP pairs of the capture a report is built for, computed once per
 * report (the CLOSE_WAIT and keep-alive race findings both read them).
 */
export function reportHttpPairs(ctx: ReportContext): HttpPair[] {
  return pairsOf(ctx).list;
}

/** Every client -> server pair of the capture that carried HTTP, largest first. */
export function httpPairs(db: Database, capId: number): HttpPair[] {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'http_flows'").get() !== undefined;
  if (!hasTable) return [];
  const rows = (
    db
      .prepare(
      `SELECT f.id, f.orig_h, f.resp_h, f.resp_p, f.orig_state, f.first_fin_by, f.idle_before_fin,
              h.user_agent, h.server, h.keepalive_timeout, h.longest_reuse_idle, h.close_kind, h.race_requests, h.fin_to_request,
              h.race_signal, h.signal_to_request, f.close_kind
       FROM flows f JOIN http_flows h ON h.flow_id = f.id
       WHERE f.capture_id = ? AND h.protocol = 'http' ORDER BY f.first_ts, f.id`,
      )
      .raw()
      .all(capId) as unknown[][]
  ).map(rowOf);
  const servers = new Set(rows.map((r) => r.resp_h));
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = pairKey(r.orig_h, r.resp_h, r.resp_p);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const out: HttpPair[] = [];
  for (const g of groups.values()) {
    const f = g[0];
    const idles = g.filter((r) => r.first_fin_by === 'resp' && r.idle_before_fin !== null).map((r) => r.idle_before_fin as number);
    const reuse = g.map((r) => r.longest_reuse_idle).filter((x): x is number => x !== null);
    const adv = g.map((r) => r.keepalive_timeout).filter((x): x is number => x !== null);
    const races = g.filter((r) => r.close_kind === 'keepalive_race');
    const finRaces = races.filter((r) => r.race_signal !== 'rst');
    const rstRaces = races.filter((r) => r.race_signal === 'rst');
    const rstIdle = rstRaces.length > 0 ? rstIdles(db, rstRaces) : { reuse: [], atRst: [] };
    const ua = mostCommon(g.map((r) => r.user_agent));
    const server = mostCommon(g.map((r) => r.server));
    out.push({
      clientH: f.orig_h,
      serverH: f.resp_h,
      serverP: f.resp_p,
      flowIds: g.map((r) => r.id),
      leakedIds: g.filter((r) => r.orig_state === 'CLOSE_WAIT').map((r) => r.id),
      raceIds: races.map((r) => r.id),
      lostRequests: races.reduce((a, r) => a + r.race_requests, 0),
      finRaceIds: finRaces.map((r) => r.id),
      rstRaceIds: rstRaces.map((r) => r.id),
      finRaceResetIds: finRaces.filter((r) => r.tcp_close_kind === 'reset_after_half_close').map((r) => r.id),
      finLostRequests: finRaces.reduce((a, r) => a + r.race_requests, 0),
      rstLostRequests: rstRaces.reduce((a, r) => a + r.race_requests, 0),
      finToRequest: sorted(finRaces.map((r) => r.fin_to_request)),
      rstToRequest: sorted(rstRaces.map((r) => r.signal_to_request)),
      rstReuseIdle: rstIdle.reuse,
      rstIdleAtRst: rstIdle.atRst,
      userAgent: ua,
      server,
      advertisedTimeoutS: adv.length > 0 ? Math.max(...adv) : null,
      serverIdle: idles.length > 0 ? idleFingerprint(`server ${hostPort(f.resp_h, f.resp_p)}`, idles) : null,
      clientReuseMaxS: reuse.length > 0 ? Math.max(...reuse) : null,
      clientIsProxy: servers.has(f.orig_h),
      clientSoftware: knownSoftware('client', ua),
      serverSoftware: knownSoftware('server', server),
    });
  }
  return out.sort((a, b) => b.flowIds.length - a.flowIds.length);
}

/** The HTTP pair of a client and a service in the report's capture, if the capture carried HTTP between them. */
export function pairOf(ctx: ReportContext, clientH: string, serverH: string, serverP: number): HttpPair | undefined {
  return pairsOf(ctx).byKey.get(pairKey(clientH, serverH, serverP));
}

/** Whether the headers named either side's software (User-Agent or Server). */
export function namesSoftware(p: HttpPair): boolean {
  return p.userAgent !== null || p.server !== null;
}

/** "Client software: Apache-HttpClient/4.5.14 (Java/17) = Apache HttpClient; server software: nginx/1.22.1 = nginx." */
export function softwareLine(p: HttpPair): string {
  const c = p.clientSoftware;
  const s = p.serverSoftware;
  return `Client software: ${p.userAgent ?? 'not named (no User-Agent)'}${c ? ` = ${c.name}` : ''}; server software: ${p.server ?? 'not named (no Server header)'}${s ? ` = ${s.name}` : ''}.`;
}

/** What a finding's JSON says of the software on both sides (known-software.ts), and of the two timeouts. */
export function softwareFacts(p: HttpPair, serverS: number | null): Record<string, string | number | boolean | null> {
  const c = p.clientSoftware;
  const s = p.serverSoftware;
  return {
    userAgent: p.userAgent,
    server: p.server,
    clientSoftware: c?.name ?? null,
    serverSoftware: s?.name ?? null,
    clientSetting: c?.setting ?? null,
    serverSetting: s?.setting ?? null,
    clientDefaultIdleS: c?.defaultIdleS ?? null,
    serverDefaultIdleS: s?.defaultIdleS ?? null,
    serverIdleTimeoutS: serverS,
    advertisedKeepAliveTimeoutS: p.advertisedTimeoutS,
    clientReuseMaxS: p.clientReuseMaxS,
    clientIsProxy: p.clientIsProxy,
  };
}

/** "client 10.0.0.5 (Apache-HttpClient/4.5.14 (Java/17))" */
export function clientName(p: HttpPair): string {
  return `${p.clientIsProxy ? 'proxy' : 'client'} ${p.clientH}${p.userAgent !== null ? ` (${p.userAgent})` : ''}`;
}

/** "server 10.0.0.1:80 (nginx/1.22.1)" */
export function serverName(p: HttpPair): string {
  return `server ${hostPort(p.serverH, p.serverP)}${p.server !== null ? ` (${p.server})` : ''}`;
}

/** The server's idle timeout as seen: the idle-before-FIN timer, else the advertised Keep-Alive timeout; null when neither. */
export function serverTimeoutS(p: HttpPair): number | null {
  const fp = p.serverIdle;
  if (fp !== null) {
    if (fp.timerMode !== null) return fp.timerMode.medianS;
    if (fp.medianS >= 1) return fp.medianS;
  }
  return p.advertisedTimeoutS;
}

/**
 * What to change, naming the software's setting when the table knows it
 * (known-software.ts) and otherwise which side's timeout must be shorter.
 */
export function settingAdvice(p: HttpPair, serverS: number | null): string {
  const x = serverS !== null ? formatDuration(serverS) : "the server's keep-alive timeout";
  const parts: string[] = [];
  const c = p.clientSoftware;
  const s = p.serverSoftware;
  const who = p.clientIsProxy ? 'proxy' : 'client';
  parts.push(`The ${who}'s idle timeout for pooled connections must be shorter than the server's (${x}).`);
  if (c !== null) {
    parts.push(`${c.name} ${c.defaultText}: set ${c.setting}.`);
  } else {
    parts.push(
      `The ${who}'s software is ${p.userAgent === null ? 'not named on the wire (no User-Agent)' : `not in wirestate's table (${p.userAgent})`}: ` +
        `lower its connection pool's idle timeout below ${x}, or have it check a connection before reuse and retry idempotent requests.`,
    );
  }
  if (s !== null) {
    parts.push(`Or raise the server's: ${s.name} (${s.defaultText}) — ${s.setting}; it must stay longer than every client's idle timeout.`);
  } else {
    parts.push(`Or raise the server's keep-alive timeout above the ${who}'s idle timeout (the server's software is ${p.server === null ? 'not named on the wire' : `not in wirestate's table (${p.server})`}).`);
  }
  if (p.clientIsProxy) {
    parts.push(
      `${p.clientH} also answers HTTP in this capture: it is a proxy reusing upstream connections; for nginx that is keepalive_timeout inside the upstream block (default 60s).`,
    );
  }
  return parts.join(' ');
}
