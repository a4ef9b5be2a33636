import type { StateStays } from '../../store/state-stays';
import { formatDuration, formatTs, isoTs } from '../format-time';
import { hostPort } from '../host-port';
import type { MidstreamRoles } from '../role-inference';
import { EPHEMERAL_PORTS, levelSteps, peakOf, type Stay } from '../state-growth';

/**
 * TIME_WAIT as a port-exhaustion risk: a client address can have at most
 * one connection per ephemeral port towards one destination address:port,
 * and a 4-tuple in TIME_WAIT (on either side) is not reused until it ends.
 * So the peak number of TIME_WAIT endpoints at once between one client
 * address and one destination is measured against the ephemeral port range
 * (Linux default 32768-60999: 28,232 ports).
 */

export type PortRisk = 'low' | 'notable' | 'high';

export interface TimeWaitPortUse {
  /** Most TIME_WAIT endpoints at once between one client address and one destination. */
  peak: number;
  peakTs: string | null;
  client: string;
  destination: string;
  /** peak / ephemeral ports. */
  share: number;
  ephemeralPorts: number;
  /** high: at least half the range; notable: at least a tenth. */
  risk: PortRisk;
}

/** The group key time-wait.ts uses: a server by its service, a client by the service it talks to. */
export function timeWaitGroupKey(server: boolean, twH: string, twP: number, peerH: string, peerP: number): string {
  return server ? `s|${twH}|${twP}` : `c|${peerH}|${peerP}`;
}

/** Per time-wait group: its busiest (client address, destination) pair, from the capture's TIME_WAIT stays. */
export function timeWaitPortUse(st: StateStays, roles: MidstreamRoles): Map<string, TimeWaitPortUse> {
  const f = st.flows;
  // group key -> pair key -> stays
  const pairs = new Map<string, Map<string, { client: string; destination: string; stays: Stay[] }>>();
  for (let i = 0; i < st.n; i++) {
    const fi = st.flow[i];
    const orig = st.endpoint[i] === 0;
    const server = !orig !== roles.swapped.has(f.id[fi]);
    const [twH, twP, peerH, peerP] = orig ? [f.origH[fi], f.origP[fi], f.respH[fi], f.respP[fi]] : [f.respH[fi], f.respP[fi], f.origH[fi], f.origP[fi]];
    const group = timeWaitGroupKey(server, twH, twP, peerH, peerP);
    const client = server ? peerH : twH;
    const destination = server ? hostPort(twH, twP) : hostPort(peerH, peerP);
    let m = pairs.get(group);
    if (!m) pairs.set(group, (m = new Map()));
    const pk = `${client}|${destination}`;
    let p = m.get(pk);
    if (!p) m.set(pk, (p = { client, destination, stays: [] }));
    p.stays.push({ fromUs: st.fromUs[i], toUs: st.toUs[i] });
  }
  const out = new Map<string, TimeWaitPortUse>();
  for (const [group, m] of pairs) {
    let best: TimeWaitPortUse | null = null;
    for (const p of m.values()) {
      const { peak, atUs } = peakOf(levelSteps(p.stays, st.startUs));
      if (best !== null && peak <= best.peak) continue;
      const share = peak / EPHEMERAL_PORTS.count;
      best = {
        peak,
        peakTs: isoTs(atUs / 1e6),
        client: p.client,
        destination: p.destination,
        share,
        ephemeralPorts: EPHEMERAL_PORTS.count,
        risk: share >= 0.5 ? 'high' : share >= 0.1 ? 'notable' : 'low',
      };
    }
    if (best !== null) out.set(group, best);
  }
  return out;
}

/** The detail line of a group's port use. */
export function describePortUse(u: TimeWaitPortUse, startTs: number): string {
  const at = u.peakTs === null ? '' : ` at ${formatTs(Date.parse(u.peakTs) / 1000)} (+${formatDuration(Date.parse(u.peakTs) / 1000 - startTs)})`;
  const pct = u.share * 100;
  return (
    `Peak ${u.peak} in TIME_WAIT at once between client ${u.client} and ${u.destination}${at}: ` +
    `${pct < 0.1 ? pct.toFixed(2) : pct.toFixed(1)} % of the ${u.ephemeralPorts.toLocaleString('en-US')} ephemeral ports ` +
    `(Linux default ${EPHEMERAL_PORTS.low}–${EPHEMERAL_PORTS.high}) one client address has towards one destination; ` +
    `port-exhaustion risk ${u.risk}.`
  );
}
