import type { HttpFlowFacts } from '../app/http-facts';
/**
 * What the TCP engine hands to a sink for each connection: when it finishes,
 * is evicted, or (live) as a periodic snapshot. One object per flow, never per
 * packet. Times are integer microseconds since the Unix epoch.
 */

export type TcpState =
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSING'
  | 'TIME_WAIT'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'CLOSED'
  /** Nothing seen from or implied for this endpoint yet (e.g. responder of an unanswered SYN). */
  | 'UNKNOWN';

export type Endpoint = 'orig' | 'resp';

export type CloseKind =
  | 'normal'
  | 'close_wait'
  | 'fin_unacked'
  | 'last_ack_unacked'
  | 'reset_after_half_close'
  | 'reset'
  | 'refused'
  | 'no_reply'
  | 'open'
  /** The capture saw one direction only and could not show how the connection ended (close-kind.ts). */
  | 'unknown';

/** Where a flow was captured (vantage.ts): at the originator, at the responder, or in between. */
export type Vantage = 'orig' | 'resp' | 'between';

export interface Transition {
  tsUs: number;
  endpoint: Endpoint;
  from: TcpState;
  to: TcpState;
  /** Short cause, e.g. 'sent SYN', 'recv FIN', 'FIN acked by peer', '2MSL expired', 'sent RST'. */
  cause: string;
}

export interface DirectionStats {
  packets: number;
  /** Payload bytes from the sequence space: retransmissions not counted twice. */
  bytes: number;
  /** Bytes on the wire at IP level (like Zeek's *_ip_bytes). */
  ipBytes: number;
  retransmits: number;
  outOfOrder: number;
  keepalives: number;
  zeroWindows: number;
  /** Window scale from this side's SYN options, -1 when not seen / not negotiated. */
  windowScale: number;
  mss: number;
}

export interface FlowRecord {
  /** Sequence number of the flow within one engine run (stable across live snapshots). */
  uid: number;
  ipVersion: 4 | 6;
  /** Canonical text addresses (RFC 5952 for IPv6). */
  origH: string;
  origP: number;
  respH: string;
  respP: number;
  firstTsUs: number;
  lastTsUs: number;
  orig: DirectionStats;
  resp: DirectionStats;
  /** Zeek's missed_bytes: acknowledged space never delivered as payload (snaplen-cut payload included; process-segment.ts commitGaps). */
  missedBytes: number;
  /** Of missedBytes, what the capture lost: not payload the snaplen cut (the flow anomaly tcp_missed_bytes). */
  lostBytes: number;
  history: string;
  connState: string;
  /** True when the capture started mid-connection (no SYN seen; '^' in history if roles were guessed/flipped). */
  midstream: boolean;
  origState: TcpState;
  respState: TcpState;
  origStateSinceUs: number;
  respStateSinceUs: number;
  firstFinBy: Endpoint | null;
  firstFinTsUs: number | null;
  /**
   * Time from the last payload byte in either direction (else the handshake)
   * to the first FIN, µs. Null without a FIN, and when unknown: picked up
   * mid-stream with no payload before the FIN.
   */
  idleBeforeFinUs: number | null;
  /** Whether the peer of the first FIN sender acknowledged that FIN. */
  firstFinAcked: boolean;
  /** Whether the peer of the first FIN sender sent its own FIN. */
  peerFinSent: boolean;
  /** Who sent the first RST, if any. */
  firstRstBy: Endpoint | null;
  closeKind: CloseKind;
  /** True once the flow is finished (both sides CLOSED/TIME_WAIT); false for active snapshots. */
  finished: boolean;
  transitions: Transition[];
  /**
   * Named anomaly counts seen on this flow (e.g. rst_out_of_window,
   * ack_of_unseen_data, fin_implied_by_ack, syn_inside_connection); absent when none.
   */
  anomalies?: Record<string, number>;
  /** Local processes holding this flow's sockets (live capture only; filled by the live pipeline). */
  owners?: SocketOwner[];
  /** HTTP/1.x or TLS facts read from the payload (src/app/); absent when the flow carried neither, or payload was not read. */
  http?: HttpFlowFacts;
  /**
   * Only this endpoint's packets were captured, while they acknowledge
   * sequence space of its peer (a SYN+ACK, data, a FIN) the capture never
   * showed: one direction only (asymmetric routing, a one-way mirror port,
   * tcpdump -Q). Null when both directions were seen (or nothing proves the
   * other direction existed).
   */
  capturedOnly: Endpoint | null;
  /** The endpoint's end state rests on its peer's packets only (it sent nothing captured) or on a FIN inferred from an ACK. */
  origStateInferred: boolean;
  respStateInferred: boolean;
  /** The close kind rests on packets the capture did not show (one direction only, or an inferred FIN). */
  closeKindInferred: boolean;
  /** Where the flow was captured, from its handshake (vantage.ts); null without a clean handshake. */
  vantage: Vantage | null;
  /** Capture point -> originator -> capture point (SYN+ACK -> ACK), µs; null when not measured. */
  rttToOrigUs: number | null;
  /** Capture point -> responder -> capture point (SYN -> SYN+ACK), µs; null when not measured. */
  rttToRespUs: number | null;
  /** Community ID v1 of the 4-tuple (src/flow/community-id.ts), e.g. `1:LQU9qZlK+B5F3KDmev6m5PMibrg=`. */
  communityId: string;
}

export interface SocketOwner {
  endpoint: Endpoint;
  pid: number;
  command: string;
}
