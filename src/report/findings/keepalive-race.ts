import { formatDuration } from '../format-time';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { median } from '../stats';
import { plural } from '../wording';
import type { FindingModule, ReportContext } from './finding-module';
import { clientName, httpPairs, serverName, serverTimeoutS, settingAdvice } from './http-pairs';

/**
 * The keep-alive race (http_flows.close_kind = 'keepalive_race', set by the
 * parser in src/app/app-flow.ts): the client sent a request after the
 * server's FIN had left, or across it (the FIN did not acknowledge the
 * request), and the request got no response; the connection ended in RST or
 * without one. Per client -> server pair: how many, the FIN -> request
 * delay, and the two timeouts that collide (the server closes after X s
 * idle, the client reuses connections idle up to Y s; Y > X is the
 * mismatch). The mirror case, a proxy reusing upstream connections that its
 * upstream closes, is the same finding with the client named a proxy.
 */
function build(ctx: ReportContext): Finding[] {
  const out: Finding[] = [];
  for (const p of httpPairs(ctx.db, ctx.captureId)) {
    if (p.raceIds.length === 0) continue;
    const x = serverTimeoutS(p);
    const y = p.clientReuseMaxS;
    const d = p.finToRequest;
    const delay =
      d.length === 0
        ? ''
        : d[0] === d[d.length - 1]
          ? `${formatDuration(d[0])}`
          : `${formatDuration(d[0])} to ${formatDuration(d[d.length - 1])} (median ${formatDuration(median(d))})`;
    const crossed = d.filter((v) => v < 0).length;
    const details = [
      `${plural(p.raceIds.length, 'connection')}: the server sent FIN, then the ${p.clientIsProxy ? 'proxy' : 'client'} sent ${plural(p.lostRequests, 'request')} on it that got no response.`,
      delay ? `The request followed the server's FIN by ${delay}${crossed > 0 ? `; ${crossed} crossed it in flight (sent before the FIN arrived)` : ''}.` : '',
      x !== null ? `Server timeout X: the server closes idle connections after ${formatDuration(x)}.` : `Server timeout X: not measured (no idle close by the server with a known idle time).`,
      y !== null
        ? `Client reuse Y: the client reused connections idle up to ${formatDuration(y)}${x !== null ? (y > x ? ` — Y > X: the mismatch` : ` (not above X: the race came from the request crossing the FIN)`) : ''}.`
        : '',
    ].filter((s) => s !== '');
    const nearRace = d.length > 0 && d[d.length - 1] < 1;
    const implication =
      (nearRace
        ? `A keep-alive race: the request and the server's idle close crossed, so neither side did anything wrong on its own; the timeouts collide. `
        : `The client reused connections long after the server had closed them (a stale pool), which is the slow form of the keep-alive race. `) +
      `The user sees an EOF / "socket hang up" / 502 for a request the server never processed. ` +
      settingAdvice(p, x);
    out.push({
      kind: 'keepalive_race',
      severity: 'warning',
      title: `keep-alive race: ${clientName(p)} sent ${plural(p.lostRequests, 'request')} after ${serverName(p)} closed the connection`,
      details,
      implication,
      facts: {
        clientHost: p.clientH,
        serverHost: p.serverH,
        serverPort: p.serverP,
        connections: p.raceIds.length,
        lostRequests: p.lostRequests,
        finToRequestS: d,
        crossedInFlight: crossed,
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
