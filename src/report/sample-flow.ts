import type { Database } from 'better-sqlite3';
import { isoTs } from './format-time';
import { hostPort } from './host-port';
import { NO_ROLES, type MidstreamRoles } from './role-inference';
import type { Evidence, SampleFlow } from './model';

/** A finding names at most this many flow ids; the rest are counted. */
const MAX_IDS = 20;

/** One flow of a finding with its stored state transitions, as the report shows it. */
export function loadSample(db: Database, flowId: number, roles: MidstreamRoles = NO_ROLES): SampleFlow | null {
  const f = db.prepare('SELECT * FROM flows WHERE id = ?').get(flowId) as Record<string, any> | undefined;
  if (!f) return null;
  const steps = db
    .prepare('SELECT ts, endpoint, from_state, to_state, cause FROM transitions WHERE flow_id = ? ORDER BY seq')
    .all(flowId) as { ts: number; endpoint: 'orig' | 'resp'; from_state: string; to_state: string; cause: string }[];
  return {
    flowId,
    orig: hostPort(f.orig_h, f.orig_p),
    resp: hostPort(f.resp_h, f.resp_p),
    history: f.history,
    connState: f.conn_state,
    closeKind: f.close_kind,
    midstream: f.midstream === 1,
    rolesInferred: roles.inferred.has(flowId),
    rolesSwapped: roles.swapped.has(flowId),
    idleBeforeFin:
      f.first_fin_ts !== null && f.idle_before_fin !== null
        ? {
            offsetS: Math.round((f.first_fin_ts - f.idle_before_fin - f.first_ts) * 1e6) / 1e6,
            idleS: f.idle_before_fin,
            afterData: (f.orig_bytes ?? 0) + (f.resp_bytes ?? 0) > 0,
          }
        : null,
    timeline: steps.map((t) => ({
      ts: isoTs(t.ts) ?? '',
      offsetS: Math.round((t.ts - f.first_ts) * 1e6) / 1e6,
      endpoint: t.endpoint,
      host: t.endpoint === 'orig' ? hostPort(f.orig_h, f.orig_p) : hostPort(f.resp_h, f.resp_p),
      from: t.from_state,
      to: t.to_state,
      cause: t.cause,
    })),
  };
}

/** The flows behind a finding: the first MAX_IDS ids, how many more, and one sample flow in full. */
export function evidence(db: Database, ids: number[], sampleId: number | null, roles: MidstreamRoles = NO_ROLES): Evidence {
  return {
    flowIds: ids.slice(0, MAX_IDS),
    moreFlows: Math.max(0, ids.length - MAX_IDS),
    sample: sampleId === null ? null : loadSample(db, sampleId, roles),
  };
}
