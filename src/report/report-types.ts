/** The diagnosis `wirestate report` prints; JSON output is this object as is. */

export type Severity = 'critical' | 'warning' | 'info';

export interface Thresholds {
  /** Warning when a group holds more than this many CLOSE_WAIT connections. */
  warnCount: number;
  /** Warning when the oldest CLOSE_WAIT in a group is stuck longer than this, seconds. */
  warnAgeS: number;
  /** Critical when the oldest CLOSE_WAIT in a group is stuck longer than this, seconds. */
  critAgeS: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { warnCount: 100, warnAgeS: 300, critAgeS: 1800 };

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
    | 'capture_damage';
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
  };
  findings: Finding[];
}
