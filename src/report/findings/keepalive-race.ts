import { formatDuration } from '../format-time';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { median } from '../stats';
import { plural } from '../wording';
import type { FindingModule, ReportContext } from './finding-module';
import { clientName, namesSoftware, reportHttpPairs, serverName, serverTimeoutS, settingAdvice, softwareFacts, softwareLine, type HttpPair } from './http-pairs';

/**
 * The keep-alive race (http_flows.close_kind = 'keepalive_race', set by the
 * parser in src/app/app-flow.ts): the client sent a request on a kept-alive
 * connection as the server closed it, and the request got no response. The
 * server's close is its FIN (the request was sent after the FIN had left, or
 * across it) or, with no FIN at all, a bare RST (http_flows.race_signal =
 * 'rst': the request reached the server after its idle timer had fired and
 * its close() found the request unread, or an abortive close crossed it).
 * Per client -> server pair: how many of each, the delays, and the two
 * timeouts that collide (the server closes after X s idle, the client reuses
 * connections idle up to Y s; Y > X is the mismatch). The mirror case, a
 * proxy reusing upstream connections that its upstream closes, is the same
 * finding with the client named a proxy.
 */

/** "1.2 ms", or "12 ms to 31 ms (median 21 ms)" over ascending values. */
function range(v: readonly number[], fmt: (s: number) => string = formatDuration): string {
  if (v.length === 0) return '';
  const a = v[0];
  const b = v[v.length - 1];
  return fmt(a) === fmt(b) ? fmt(a) : `${fmt(a)} to ${fmt(b)} (median ${fmt(median(v))})`;
}

/** Idle times near a timeout differ by milliseconds: "2.014 s" where formatDuration says "2.0 s". */
function exact(s: number): string {
  return s >= 1 && s < 120 ? `${s.toFixed(3)} s` : formatDuration(s);
}

function finDetails(p: HttpPair, who: string): string[] {
  const d = p.finToRequest;
  const crossed = d.filter((v) => v < 0).length;
  const reset = p.finRaceResetIds.length;
  const all = reset === p.finRaceIds.length;
  return [
    `${plural(p.finRaceIds.length, 'connection')}: the server sent FIN, then the ${who} sent ${plural(p.finLostRequests, 'request')} on it that got no response.`,
    d.length > 0 ? `The request followed the server's FIN by ${range(d)}${crossed > 0 ? `; ${crossed} crossed it in flight (sent before the FIN arrived)` : ''}.` : '',
    reset > 0
      ? `${all ? (reset === 1 ? 'It' : 'Each') : `${reset} of them`} then drew an RST from the server's kernel (TCP close kind reset_after_half_close: a stale pooled connection reused).`
      : '',
  ];
}

/**
 * What the client's application saw when the server's RST hit a connection
 * that had already received the FIN (Linux; the fixture nginx-stale-reuse-reset's
 * pool logs exactly this): end-of-file, then EPIPE, never "connection reset".
 */
function halfClosedReset(who: string): string {
  return (
    `On Linux the ${who} does not see "connection reset": reading the response returns end-of-file ("Remote end closed connection without response", ` +
    `"connection closed by peer", "unexpected EOF") and its next write fails with EPIPE ("broken pipe"), because the RST hits a socket that had already received the FIN (CLOSE_WAIT). `
  );
}

function rstDetails(p: HttpPair, who: string, x: number | null): string[] {
  const after = p.rstToRequest.filter((v) => v <= 0).map((v) => -v).sort((a, b) => a - b);
  const crossed = p.rstToRequest.length - after.length;
  const idle = p.rstIdleAtRst;
  const sameAsX = x !== null && idle.length > 0 && Math.abs(median(idle) - x) <= Math.max(0.05 * x, 0.05);
  return [
    `${plural(p.rstRaceIds.length, 'connection')}: the ${who} reused ${p.rstRaceIds.length === 1 ? 'it' : 'them'}${p.rstReuseIdle.length > 0 ? ` after ${range(p.rstReuseIdle, exact)} idle` : ''} and the server answered ${plural(p.rstLostRequests, 'request')} with a bare RST, never a FIN: it closed the connection with the request unread (Linux close() sends RST instead of FIN when unread data is queued; an SO_LINGER 0 close does too).`,
    after.length > 0 ? `The RST followed the request by ${range(after)}${crossed > 0 ? `; ${crossed} left before the request arrived (crossed it in flight)` : ''}.` : crossed > 0 ? `Each RST left before the request arrived (they crossed in flight).` : '',
    idle.length > 0
      ? `At the RST the connection had been idle ${range(idle, exact)}${sameAsX ? `, as long as before the server's idle closes with FIN: its idle timer had fired before the request arrived, and its close() came after` : ''}.`
      : '',
  ];
}

function build(ctx: ReportContext): Finding[] {
  const out: Finding[] = [];
  for (const p of reportHttpPairs(ctx)) {
    if (p.raceIds.length === 0) continue;
    const x = serverTimeoutS(p);
    const y = p.clientReuseMaxS;
    const who = p.clientIsProxy ? 'proxy' : 'client';
    const fin = p.finRaceIds.length > 0;
    const rst = p.rstRaceIds.length > 0;
    const notAbove = !rst
      ? 'the race came from the request crossing the FIN'
      : !fin
        ? 'the requests reached the server after its idle timer had fired, before it closed'
        : "the requests met the server's close in flight";
    const details = [
      ...(fin ? finDetails(p, who) : []),
      ...(rst ? rstDetails(p, who, x) : []),
      x !== null ? `Server timeout X: the server closes idle connections after ${rst ? exact(x) : formatDuration(x)}.` : `Server timeout X: not measured (no idle close by the server with a known idle time).`,
      y !== null
        ? `${who === 'proxy' ? 'Proxy' : 'Client'} reuse Y: the ${who} reused connections idle up to ${rst ? exact(y) : formatDuration(y)}${x !== null ? (y > x ? ` — Y > X: the mismatch` : ` (not above X: ${notAbove})`) : ''}.`
        : '',
      namesSoftware(p) ? softwareLine(p) : '',
    ].filter((s) => s !== '');
    const d = p.finToRequest;
    // An RST race is near by construction (the RST within RST_RACE_WITHIN_US of the request).
    const nearRace = rst || (d.length > 0 && d[d.length - 1] < 1);
    const lead = p.rstToRequest.filter((v) => v <= 0).map((v) => -v);
    const margin =
      lead.length > 0
        ? ` Leave a margin: this server reset requests that reached it up to ${formatDuration(Math.max(...lead))} before its close.`
        : '';
    const seen = rst && !fin ? 'an ECONNRESET / "connection reset by peer"' : fin && !rst ? 'an EOF / "socket hang up"' : 'an EOF / "socket hang up" / ECONNRESET';
    const implication =
      (nearRace
        ? `A keep-alive race: the request and the server's idle close crossed, so neither side did anything wrong on its own; the timeouts collide. `
        : `The client reused connections long after the server had closed them (a stale pool), which is the slow form of the keep-alive race. `) +
      `The user sees ${seen} / 502 for a request the server never processed. ` +
      (p.finRaceResetIds.length > 0 ? halfClosedReset(who) : '') +
      settingAdvice(p, x) +
      margin +
      (p.clientSoftware !== null ? ` Retry idempotent requests that fail this way on a reused connection.` : '');
    const title =
      rst && !fin
        ? `keep-alive race: ${serverName(p)} reset ${plural(p.rstRaceIds.length, 'reused connection')} with a request unread from ${clientName(p)}`
        : fin && !rst
          ? `keep-alive race: ${clientName(p)} sent ${plural(p.lostRequests, 'request')} after ${serverName(p)} closed the connection`
          : `keep-alive race: ${clientName(p)} sent ${plural(p.lostRequests, 'request')} as ${serverName(p)} closed idle connections (${p.finLostRequests} after its FIN, ${p.rstLostRequests} reset unread)`;
    out.push({
      kind: 'keepalive_race',
      severity: 'warning',
      title,
      details,
      implication,
      facts: {
        ...softwareFacts(p, x),
        clientHost: p.clientH,
        serverHost: p.serverH,
        serverPort: p.serverP,
        connections: p.raceIds.length,
        lostRequests: p.lostRequests,
        finConnections: p.finRaceIds.length,
        rstConnections: p.rstRaceIds.length,
        resetAfterHalfClose: p.finRaceResetIds.length,
        finToRequestS: d,
        crossedInFlight: d.filter((v) => v < 0).length,
        rstToRequestS: p.rstToRequest,
        idleAtRstS: p.rstIdleAtRst,
        serverIdleTimeoutS: x,
        clientReuseMaxS: y,
        mismatch: x !== null && y !== null ? y > x : null,
        clientIsProxy: p.clientIsProxy,
        userAgent: p.userAgent,
        server: p.server,
      },
      evidence: evidence(ctx.db, p.raceIds, p.raceIds[0], ctx.roles),
    });
  }
  return out;
}

export const keepaliveRace: FindingModule = { kind: 'keepalive_race', build };
