import type { Database } from 'better-sqlite3';
import { readStateStays } from '../../store/state-stays';
import { formatDuration, formatTs, isoTs } from '../format-time';
import type { MidstreamRoles } from '../role-inference';
import { durationStats, growthOf, type DurationStats, type Growth, type Stay } from '../state-growth';
import type { Thresholds } from '../thresholds';
import { plural } from '../wording';

/**
 * The over-time side of a CLOSE_WAIT group (close-wait.ts): every stay of
 * the group's endpoints in CLOSE_WAIT during the capture, from the stored
 * transitions — whether the count is growing, and how long the endpoints
 * that left CLOSE_WAIT within the capture had stayed.
 */

/**
 * The group of a CLOSE_WAIT endpoint: a server by its address and service
 * port; a client (ephemeral ports) by its address and the service it talks
 * to — the pooled-client case.
 */
export function closeWaitGroupKey(client: boolean, ownH: string, ownP: number, peerH: string, peerP: number): string {
  return client ? `c|${ownH}|${peerH}|${peerP}` : `s|${ownH}|${ownP}`;
}

export interface CloseWaitHistory {
  stays: Stay[];
}

export interface CloseWaitHistories {
  /** Capture start and end (epoch µs). */
  startUs: number;
  endUs: number;
  groups: Map<string, CloseWaitHistory>;
}

/** Every CLOSE_WAIT stay of a capture (of flows touching `hosts`, when given), by group key. Client/server roles as fan-in decided them for mid-stream flows. */
export function closeWaitHistories(db: Database, captureId: number, roles: MidstreamRoles, hosts?: readonly string[]): CloseWaitHistories {
  const st = readStateStays(db, { captureId, states: ['CLOSE_WAIT'], hosts });
  const out = new Map<string, CloseWaitHistory>();
  const f = st.flows;
  for (let i = 0; i < st.n; i++) {
    const fi = st.flow[i];
    const orig = st.endpoint[i] === 0;
    const client = orig !== roles.swapped.has(f.id[fi]);
    const key = orig
      ? closeWaitGroupKey(client, f.origH[fi], f.origP[fi], f.respH[fi], f.respP[fi])
      : closeWaitGroupKey(client, f.respH[fi], f.respP[fi], f.origH[fi], f.origP[fi]);
    let h = out.get(key);
    if (!h) out.set(key, (h = { stays: [] }));
    h.stays.push({ fromUs: st.fromUs[i], toUs: st.toUs[i] });
  }
  return { startUs: st.startUs, endUs: st.endUs, groups: out };
}

export interface CloseWaitGrowthFacts extends Omit<Growth, 'peakTs'> {
  peakTs: string | null;
  /** Endpoints that left CLOSE_WAIT within the capture: how long they had stayed. */
  leftDurations: DurationStats | null;
}

/** Growth facts and detail lines of one group. */
export function describeGrowth(
  h: CloseWaitHistory,
  startUs: number,
  endUs: number,
  t: Thresholds,
): { facts: CloseWaitGrowthFacts; lines: string[]; leftSeverity: 'critical' | 'warning' | null } {
  const startTs = startUs / 1e6;
  const g = growthOf(h.stays, startUs, endUs);
  const left = durationStats(
    h.stays.filter((s) => s.toUs === s.toUs).map((s) => (s.toUs - s.fromUs) / 1e6),
    t.warnAgeS,
    t.critAgeS,
  );
  const rate = `${g.netPerMin >= 0 ? '+' : ''}${Math.abs(g.netPerMin) >= 10 ? g.netPerMin.toFixed(0) : g.netPerMin.toFixed(1)} per minute`;
  const trend =
    g.verdict === 'growing'
      ? 'still rising in the last quarter of the capture'
      : g.verdict === 'draining'
        ? 'falling in the last quarter of the capture'
        : g.levelsOff
          ? 'level over the last quarter of the capture (it levels off)'
          : 'level over the last quarter of the capture';
  const lines = [
    `Over time: ${g.verdict}, ${rate} over the capture (${g.startCount} at its start, ${g.endCount} at its end); ` +
      `peak ${g.peak} at ${formatTs(g.peakTs)} (+${formatDuration(g.peakTs - startTs)}); ${trend}.`,
  ];
  let leftSeverity: 'critical' | 'warning' | null = null;
  if (left !== null) {
    if (left.overCrit > 0) leftSeverity = 'critical';
    else if (left.overWarn > 0) leftSeverity = 'warning';
    lines.push(
      `${plural(left.count, 'endpoint')} left CLOSE_WAIT within the capture after median ${formatDuration(left.medianS)}, ` +
        `p95 ${formatDuration(left.p95S)}, max ${formatDuration(left.maxS)}; ` +
        `${left.overWarn} over ${formatDuration(t.warnAgeS)}, ${left.overCrit} over ${formatDuration(t.critAgeS)}.`,
    );
  }
  return { facts: { ...g, peakTs: isoTs(g.peakTs), leftDurations: left }, lines, leftSeverity };
}
