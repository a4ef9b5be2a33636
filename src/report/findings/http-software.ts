import { formatDuration } from '../format-time';
import { describeIdle } from '../idle-fingerprint';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { plural } from '../wording';
import type { FindingModule, ReportContext } from './finding-module';
import { clientName, reportHttpPairs, serverName, serverTimeoutS, settingAdvice } from './http-pairs';

/**
 * Names the software on both sides of a leak or a keep-alive race, from the
 * HTTP headers the capture carried (User-Agent, Server, Keep-Alive), and the
 * setting to change (known-software.ts; unknown software gets which side's
 * timeout must be shorter). One finding per client -> server pair that has
 * client-side CLOSE_WAIT leaks or keep-alive races.
 */
function build(ctx: ReportContext): Finding[] {
  const out: Finding[] = [];
  for (const p of reportHttpPairs(ctx)) {
    if (p.leakedIds.length === 0 && p.raceIds.length === 0) continue;
    const x = serverTimeoutS(p);
    const closes = x !== null ? `, which closes after ${formatDuration(x)} idle` : '';
    const what = p.leakedIds.length > 0 ? 'leaks connections to' : 'reuses connections closed by';
    const title = `${clientName(p)} ${what} ${serverName(p)}${closes}`;
    const details: string[] = [];
    if (p.leakedIds.length > 0) details.push(`${plural(p.leakedIds.length, 'connection')} left in CLOSE_WAIT on the client after the server's FIN.`);
    if (p.finRaceIds.length > 0) details.push(`${plural(p.finRaceIds.length, 'connection')} reused after the server's FIN (keep-alive race), ${plural(p.finLostRequests, 'request')} without a response.`);
    if (p.rstRaceIds.length > 0) details.push(`${plural(p.rstRaceIds.length, 'connection')} reset by the server with a request unread, no FIN (keep-alive race), ${plural(p.rstLostRequests, 'request')} without a response.`);
    if (p.serverIdle !== null) details.push(`${describeIdle(p.serverIdle)}.`);
    if (p.advertisedTimeoutS !== null) details.push(`The server advertises Keep-Alive: timeout=${p.advertisedTimeoutS}.`);
    if (p.clientReuseMaxS !== null) details.push(`The client reused a connection after up to ${formatDuration(p.clientReuseMaxS)} idle.`);
    const c = p.clientSoftware;
    const s = p.serverSoftware;
    details.push(
      `Client software: ${p.userAgent ?? 'not named (no User-Agent)'}${c ? ` = ${c.name}` : ''}; server software: ${p.server ?? 'not named (no Server header)'}${s ? ` = ${s.name}` : ''}.`,
    );
    const ids = [...p.leakedIds, ...p.raceIds];
    out.push({
      kind: 'http_software',
      severity: 'info',
      title,
      details,
      implication: settingAdvice(p, x),
      facts: {
        clientHost: p.clientH,
        serverHost: p.serverH,
        serverPort: p.serverP,
        userAgent: p.userAgent,
        server: p.server,
        clientSoftware: c?.name ?? null,
        serverSoftware: s?.name ?? null,
        clientSetting: c?.setting ?? null,
        serverSetting: s?.setting ?? null,
        clientDefaultIdleS: c?.defaultIdleS ?? null,
        serverDefaultIdleS: s?.defaultIdleS ?? null,
        serverIdleTimeoutS: x,
        advertisedKeepAliveTimeoutS: p.advertisedTimeoutS,
        clientReuseMaxS: p.clientReuseMaxS,
        clientIsProxy: p.clientIsProxy,
        leaked: p.leakedIds.length,
        races: p.raceIds.length,
      },
      evidence: evidence(ctx.db, ids, ids[0] ?? null, ctx.roles),
    });
  }
  return out;
}

export const httpSoftware: FindingModule = { kind: 'http_software', build };
