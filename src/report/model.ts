import type { Database } from 'better-sqlite3';
import { FINDING_MODULES, type ReportContext } from './findings';
import { captureVantage, oneDirectionLines, readCaptureSight, vantageLine, type CaptureSight } from './capture-sight';
import type { Vantage } from '../tcp/flow-record';
import { captureEndTs, loadCapture } from './load-capture';
import { inferMidstreamRoles } from './role-inference';
import { groupBy } from './stats';
import { SEVERITY_RANK, resolveThresholds, type Thresholds } from './thresholds';
import { verdictOf } from './verdict';

/**
 * The report model: the diagnosis of one capture, computed from the database
 * only (never from in-memory engine state), so a report can be rerun on any
 * database later. `buildReport` makes it; the renderers (render-text,
 * render-json, render-html) only read it. JSON output is this object as is.
 */

export { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds';

export type Severity = 'critical' | 'warning' | 'info';

export interface ReportCapture {
  id: number;
  source: string;
  kind: string;
  /** False while a live capture is still running (or an ingest never finished). */
  completed: boolean;
  format: string | null;
  /** Link types of the capture's interfaces (1 = Ethernet, 113/276 = Linux cooked, what tcpdump -i any writes). */
  linktypes: number[];
  files: { path: string; sha256: string; truncated: boolean; damage: string | null }[];
  firstTs: string | null;
  lastTs: string | null;
  durationS: number | null;
  packets: number | null;
  tcpPackets: number | null;
  flows: number;
  truncated: boolean;
  damage: string | null;
  drops: number | null;
  anomalies: Record<string, number>;
  /** Capture-loss estimate (capture-loss.ts): acknowledged bytes, those never seen, their percent (null: nothing acknowledged); null when not recorded. */
  captureLoss: { ackedBytes: number; gapBytes: number; percent: number | null } | null;
}

export interface TimelineStep {
  ts: string;
  /** Seconds since the flow's first packet. */
  offsetS: number;
  endpoint: 'orig' | 'resp';
  host: string;
  from: string;
  to: string;
  cause: string;
}

export interface SampleFlow {
  flowId: number;
  orig: string;
  resp: string;
  history: string;
  connState: string;
  closeKind: string;
  /** The capture started mid-connection: no handshake seen, client/server roles guessed from the ports. */
  midstream: boolean;
  /** Mid-stream only: client and server decided by fan-in across the capture (the recurring endpoint is the service), not by the port guess. */
  rolesInferred: boolean;
  /** Fan-in found the stored orig to be the service: the timeline's orig is the server, resp the client. */
  rolesSwapped: boolean;
  timeline: TimelineStep[];
  /** When the idle time before the first FIN began (the last payload, or the handshake when no data was sent); null without a FIN. */
  idleBeforeFin: { offsetS: number; idleS: number; afterData: boolean } | null;
}

export interface Evidence {
  /** Up to 20 flow ids (most telling first). */
  flowIds: number[];
  /** How many more flows the finding covers beyond flowIds. */
  moreFlows: number;
  sample: SampleFlow | null;
}

/** A cluster of similar idle-before-FIN times (within max(1 s, 5 %) of its smallest). */
export interface IdleMode {
  count: number;
  medianS: number;
  minS: number;
  maxS: number;
}

/** Idle time before the first FIN, for one closer: the fingerprint of a keep-alive/idle timer. */
export interface IdleFingerprint {
  closer: string;
  /** Connections where this closer sent the first FIN and an idle time is known. */
  total: number;
  /** Clusters with at least 3 closes and 5 % of them, largest first (two when e.g. a server closes on Connection: close and on its keep-alive timer). */
  modes: IdleMode[];
  /** The largest mode at 1 s idle or more: an idle timer, even when most closes are not on it; null when none. */
  timerMode: IdleMode | null;
  medianS: number;
  minS: number;
  maxS: number;
  /** Connections whose idle time is within toleranceS of the median. */
  matching: number;
  toleranceS: number;
  /** Smallest and largest idle time among the matching connections. */
  matchMinS: number;
  matchMaxS: number;
  /** True when most closes happen after the same idle time (≥ 80 %, median ≥ 1 s): a timer, not the application. */
  timer: boolean;
}

export interface Finding {
  kind:
    | 'close_wait'
    | 'reset_after_half_close'
    | 'fin_unacked'
    | 'last_ack_unacked'
    | 'refused'
    | 'no_reply'
    | 'reset'
    | 'time_wait'
    | 'retransmissions'
    | 'zero_window'
    | 'closer_fingerprint'
    | 'capture_damage'
    | 'keepalive_race'
    | 'capture_loss';
  severity: Severity;
  /** One line, the headline. */
  title: string;
  /** Short factual lines (counts, times, who closed). */
  details: string[];
  /** What it means and where to look, in plain words. */
  implication: string;
  /** Structured numbers behind the text. */
  facts: Record<string, unknown>;
  evidence: Evidence;
}

export interface Report {
  database: string;
  capture: ReportCapture;
  captures: number;
  thresholds: Thresholds;
  summary: {
    flows: number;
    byCloseKind: Record<string, number>;
    closeWait: number;
    finWait2CloseWaitPairs: number;
    /** Connections already open when the capture started (no handshake seen; client/server guessed from the ports). */
    midstreamFlows: number;
    /** Of those, how many had client and server decided by fan-in (the endpoint recurring across the capture is the service). */
    midstreamRolesInferred: number;
    severity: Severity | 'ok';
    verdict: string;
    /** Findings left out per kind (beyond the per-kind limit; --all shows every one). */
    omitted: Record<string, number>;
    /** What the capture could see: connections seen one direction only, vantage votes (capture-sight.ts). */
    sight: CaptureSight;
    /** The one-direction limit stated once (empty when every connection was seen both ways); no finding rests on it alone. */
    oneDirection: string[];
    /** Where the capture was taken (the majority of the flows' handshake estimates), and the sentence saying so. */
    vantage: Vantage | null;
    vantageText: string;
  };
  findings: Finding[];
}

export interface ReportOptions {
  captureId?: number;
  /** At most this many findings of each kind (largest first); 0 = all. Default 10. */
  maxPerKind?: number;
  thresholds?: Partial<Thresholds>;
  database?: string;
}

/** Load the capture, run every finding module, bound and order the findings, and give the verdict. */
export function buildReport(db: Database, opts: ReportOptions = {}): Report {
  const thresholds = resolveThresholds(opts.thresholds);
  const captures = (db.prepare('SELECT count(*) AS n FROM captures').get() as { n: number }).n;
  const capId = opts.captureId ?? (db.prepare('SELECT max(id) AS id FROM captures').get() as { id: number | null }).id;
  if (capId === null || capId === undefined) throw new Error('the database holds no capture yet (run wirestate ingest FILE first)');
  const capture = loadCapture(db, capId);
  const endTs = captureEndTs(db, capId);

  const byCloseKind: Record<string, number> = {};
  for (const r of db.prepare('SELECT close_kind, count(*) AS n FROM flows WHERE capture_id = ? GROUP BY close_kind ORDER BY n DESC').all(capId) as {
    close_kind: string;
    n: number;
  }[]) {
    byCloseKind[r.close_kind] = r.n;
  }
  const midstreamFlows = (db.prepare('SELECT count(*) AS n FROM flows WHERE capture_id = ? AND midstream = 1').get(capId) as { n: number }).n;
  const roles = inferMidstreamRoles(db, capId);
  const ctx: ReportContext = { db, captureId: capId, capture, endTs, thresholds, roles };
  const all: Finding[] = FINDING_MODULES.flatMap((m) => m.build(ctx));
  // Per kind, the most severe and then the largest groups first (the group the verdict names leads its kind);
  // bounded to maxPerKind, the rest counted as omitted.
  const maxPerKind = opts.maxPerKind ?? 10;
  const omitted: Record<string, number> = {};
  const rank = new Map<Finding, number>();
  const findings: Finding[] = [];
  for (const [kind, list] of groupBy(all, (f) => f.kind)) {
    const sorted = [...list].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || findingSize(b) - findingSize(a));
    sorted.forEach((f, i) => rank.set(f, i));
    const shown = maxPerKind > 0 ? sorted.slice(0, maxPerKind) : sorted;
    findings.push(...shown);
    if (shown.length < sorted.length) omitted[kind] = sorted.length - shown.length;
  }
  // Stable order: severity first, then the modules' order (CLOSE_WAIT leaks lead), then that order within a kind.
  const moduleOrder = new Map(FINDING_MODULES.map((m, i) => [m.kind, i]));
  findings.sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      (moduleOrder.get(a.kind) ?? 0) - (moduleOrder.get(b.kind) ?? 0) ||
      rank.get(a)! - rank.get(b)!,
  );

  const { closeWait, finWait2CloseWaitPairs, severity, verdict } = verdictOf(all, findings, capture, endTs);
  const sight = readCaptureSight(db, capId);
  return roundFloats({
    database: opts.database ?? '',
    capture,
    captures,
    thresholds,
    summary: {
      flows: capture.flows,
      byCloseKind,
      closeWait,
      finWait2CloseWaitPairs,
      midstreamFlows,
      midstreamRolesInferred: roles.inferred.size,
      severity,
      verdict,
      omitted,
      sight,
      oneDirection: oneDirectionLines(sight),
      vantage: captureVantage(sight),
      vantageText: vantageLine(sight),
    },
    findings,
  });
}

function findingSize(f: Finding): number {
  return f.evidence.flowIds.length + f.evidence.moreFlows;
}

/** Seconds computed by subtraction carry float noise (69.49958992004395): keep microseconds. */
function roundFloats<T>(v: T): T {
  if (typeof v === 'number') return (Number.isInteger(v) ? v : Math.round(v * 1e6) / 1e6) as T;
  if (Array.isArray(v)) return v.map(roundFloats) as T;
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = roundFloats(x);
    return o as T;
  }
  return v;
}
