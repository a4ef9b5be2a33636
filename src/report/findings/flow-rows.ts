import type { Database } from 'better-sqlite3';
import type { FlowsRow } from '../../store/flows-row';
import type { MidstreamRoles } from '../role-inference';

/** The flow columns most findings read. */
export type FlowRow = Pick<
  FlowsRow,
  'id' | 'orig_h' | 'orig_p' | 'resp_h' | 'resp_p' | 'first_ts' | 'last_ts' | 'first_fin_by' | 'first_fin_ts' | 'idle_before_fin' | 'first_rst_by' | 'orig_pkts' | 'close_kind'
>;

/** The flows of one close kind, oldest first. */
export function flowsOfKind(db: Database, capId: number, kind: string): FlowRow[] {
  return db
    .prepare(
      `SELECT id, orig_h, orig_p, resp_h, resp_p, first_ts, last_ts, first_fin_by, first_fin_ts, idle_before_fin, first_rst_by, orig_pkts, close_kind
       FROM flows WHERE capture_id = ? AND close_kind = ? ORDER BY first_ts, id`,
    )
    .all(capId, kind) as FlowRow[];
}

/** A flow row seen with the client/server roles fan-in gave a mid-stream flow (stored orig is the service). */
export function withRoles(r: FlowRow, roles: MidstreamRoles): FlowRow {
  if (!roles.swapped.has(r.id)) return r;
  const flip = (x: 'orig' | 'resp' | null): 'orig' | 'resp' | null => (x === null ? null : x === 'orig' ? 'resp' : 'orig');
  return { ...r, orig_h: r.resp_h, orig_p: r.resp_p, resp_h: r.orig_h, resp_p: r.orig_p, first_fin_by: flip(r.first_fin_by), first_rst_by: flip(r.first_rst_by) };
}

/** Packets closer than this to the end of the capture may simply have been answered after it. */
export const TAIL_S = 3;

/**
 * Whether every event of a group (the SYN, the FIN that went unanswered)
 * happened so close to the end of the capture that its answer may simply have
 * come after the capture stopped.
 */
export function atCaptureEnd<T>(g: readonly T[], eventTs: (r: T) => number | null, endTs: number | null): boolean {
  if (endTs === null) return false;
  for (const r of g) {
    const t = eventTs(r);
    if (t === null || endTs - t >= TAIL_S) return false;
  }
  return true;
}

/** Per-direction counters (retransmissions, out of order, zero windows) of a flow. */
export interface DirRow {
  id: number;
  orig_h: string;
  resp_h: string;
  resp_p: number;
  orig_pkts: number;
  resp_pkts: number;
  orig_retransmissions: number;
  resp_retransmissions: number;
  orig_out_of_order: number;
  resp_out_of_order: number;
  orig_zero_windows: number;
  resp_zero_windows: number;
  close_kind: string;
}

/** The flows matching a condition on the per-direction counters, oldest first. */
export function dirRows(db: Database, capId: number, where: string): DirRow[] {
  return db
    .prepare(
      `SELECT id, orig_h, resp_h, resp_p, orig_pkts, resp_pkts, orig_retransmissions, resp_retransmissions,
              orig_out_of_order, resp_out_of_order, orig_zero_windows, resp_zero_windows, close_kind
       FROM flows WHERE capture_id = ? AND (${where}) ORDER BY first_ts, id`,
    )
    .all(capId) as DirRow[];
}
