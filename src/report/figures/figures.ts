import type { Database } from 'better-sqlite3';
import { closerIdleGroups } from '../findings/closer-fingerprint';
import { captureEndTs } from '../load-capture';
import type { Report } from '../model';
import { inferMidstreamRoles } from '../role-inference';
import { closeWaitStays, type CloseWaitStay } from './close-wait-stays';
import { readSamplePackets, type SamplePackets } from './sample-packets';

/**
 * What the HTML report draws beyond the report model: the numbers behind its
 * charts, read from the same database (and, for the ladders, the capture
 * file). Kept apart from the model so that text and JSON output stay what
 * they are; the HTML renderer reads both.
 */

/** Idle time before the first FIN of each connection one closer closed first. */
export interface IdleHistogram {
  closer: string;
  /** Seconds. */
  values: number[];
}

/** A state change of one side of a sample flow. */
export interface LadderTransition {
  ts: number;
  endpoint: 'orig' | 'resp';
  to: string;
  cause: string;
}

/** The sample flow of one finding, for its ladder diagram. */
export interface SampleLadder {
  /** Index of the finding in report.findings. */
  finding: number;
  flowId: number;
  orig: string;
  resp: string;
  /** Which stored side is the client (fan-in may have swapped a mid-stream flow's guess). */
  client: 'orig' | 'resp';
  transitions: LadderTransition[];
  packets: SamplePackets;
}

/** Endpoint counts per state over the capture (from the state timeline). */
export interface TimelineFigure {
  startTs: number;
  endTs: number;
  /** Bucket width in seconds; null for exact change points. */
  bucketS: number | null;
  /** Group 'all' for every state; other groups (a service "h:p") are drawn for CLOSE_WAIT, one line each. */
  series: { group: string; state: string; points: { t: number; count: number; min: number; max: number }[] }[];
}

export interface ReportFigures {
  startTs: number | null;
  endTs: number | null;
  /** Null when no timeline reader was given (the state timeline lives in the store). */
  timeline: TimelineFigure | null;
  idle: IdleHistogram[];
  closeWait: CloseWaitStay[];
  ladders: SampleLadder[];
  /** Findings with a sample flow beyond MAX_LADDERS (not drawn). */
  laddersOmitted: number;
}

/** The HTML report draws the sample flows of at most this many findings. */
export const MAX_LADDERS = 20;

/** Reads a capture's state timeline (store/state-timeline.ts readStateTimeline fits it). */
export type TimelineReader = (db: Database, captureId: number) => TimelineFigure | null;

export async function buildFigures(db: Database, report: Report, readTimeline: TimelineReader | null = null): Promise<ReportFigures> {
  const capId = report.capture.id;
  const endTs = captureEndTs(db, capId);
  const first = (db.prepare('SELECT coalesce(c.first_ts, (SELECT min(first_ts) FROM flows WHERE capture_id = c.id)) AS t FROM captures c WHERE c.id = ?').get(capId) as { t: number | null }).t;
  const roles = inferMidstreamRoles(db, capId);
  const idle = closerIdleGroups(db, capId, roles).map((g) => ({ closer: g.name, values: g.idles }));
  const withSample = report.findings.map((f, i) => ({ f, i })).filter(({ f }) => f.evidence.sample !== null);
  const drawn = withSample.slice(0, MAX_LADDERS);
  const packets = await readSamplePackets(db, capId, [...new Set(drawn.map(({ f }) => f.evidence.sample!.flowId))]);
  const firstTs = db.prepare('SELECT first_ts FROM flows WHERE id = ?');
  const ladders: SampleLadder[] = drawn.map(({ f, i }) => {
    const s = f.evidence.sample!;
    const base = (firstTs.get(s.flowId) as { first_ts: number }).first_ts;
    return {
      finding: i,
      flowId: s.flowId,
      orig: s.orig,
      resp: s.resp,
      client: s.rolesSwapped ? 'resp' : 'orig',
      transitions: s.timeline.map((t) => ({ ts: base + t.offsetS, endpoint: t.endpoint, to: t.to, cause: t.cause })),
      packets: packets.get(s.flowId) ?? { packets: [], more: 0, missing: 'the flow is not in the database' },
    };
  });
  return {
    startTs: first,
    endTs,
    timeline: readTimeline ? readTimeline(db, capId) : null,
    idle,
    closeWait: closeWaitStays(db, capId, endTs),
    ladders,
    laddersOmitted: withSample.length - drawn.length,
  };
}

