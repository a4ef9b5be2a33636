import type { Database } from 'better-sqlite3';
import { readStateTimeline, type TimelineGroupKind } from '../store/state-timeline';
import type { ExportRow } from './export-rows';

const KINDS: readonly TimelineGroupKind[] = ['all', 'service', 'host'];
/** Every service and host of the capture, not only the ones with the highest peaks. */
const ALL_GROUPS = 1_000_000;

/**
 * The state timeline of a completed capture as rows of ClickHouse's
 * state_timeline: the points readStateTimeline gives at its default
 * resolution, for all three group kinds. A completed capture's resolution
 * never changes, so a re-send has the same keys; `ver` is the capture's
 * last_ts in µs.
 */
export function timelineRows(db: Database, captureId: number, host: string, lastTs: number | null): ExportRow[] {
  const ver = lastTs === null ? 0 : Math.round(lastTs * 1e6);
  const out: ExportRow[] = [];
  for (const kind of KINDS) {
    const tl = readStateTimeline(db, { captureId, group: kind, ...(kind === 'all' ? {} : { maxGroups: ALL_GROUPS }) });
    for (const s of tl.series) {
      for (const p of s.points) {
        out.push({ host, capture_id: captureId, ts: p.t, bucket_s: tl.bucketS, group_kind: kind, grp: s.group, state: s.state, count: p.count, min: p.min, max: p.max, ver });
      }
    }
  }
  return out;
}
