import { ST_UNKNOWN, Z_INACTIVE } from './tcp-state-codes';

/**
 * Everything the engine knows about one side of a TCP connection: its RFC
 * state, the sequence space it sends, what it has acknowledged, and its
 * counters. Two per flow (orig, resp); mutated in place, never per packet.
 */
export class TcpEndpoint {
  /** RFC 9293 state code (tcp-state-codes.ts) and the time of its last change. */
  state = ST_UNKNOWN;
  sinceUs = -1;
  /** Zeek-style state, only for conn_state. */
  zstate = Z_INACTIVE;
  zprev = Z_INACTIVE;

  /** Any packet sent by this endpoint seen. */
  anyPacket = false;
  /** Reached ESTABLISHED at some point. */
  everEstablished = false;

  // ---- the sequence space this endpoint sends ----
  seqInit = false;
  /** Initial sequence number (seq of the SYN, or first seq - 1 mid-stream). */
  isn = 0;
  /** One past the highest sequence number used (data, SYN and FIN included). */
  nextSeq = 0;
  /** One past the highest payload byte. */
  dataEnd = 0;
  /** Sequence-space holes not yet filled, flat [start, end, start, end, ...]. */
  holes: number[] | null = null;
  /**
   * The sequence space was anchored only by a bare first segment (no SYN,
   * FIN or payload, picked up mid-stream): it may have been a keep-alive
   * probe at SND.NXT - 1, so an ACK one past it proves nothing about a FIN
   * (process-segment.ts). Cleared once payload or an ACK at or past nextSeq
   * confirms the anchor. bareAnchorSegs counts the bare segments at it.
   */
  bareAnchor = false;
  bareAnchorSegs = 0;

  synSent = false;
  synAckSent = false;
  /** The peer acknowledged this endpoint's SYN. */
  synAcked = false;
  finSent = false;
  /** Sequence number the FIN occupies (seq + payload length of the FIN segment). */
  finSeq = 0;
  finTsUs = -1;
  /** The peer acknowledged finSeq + 1. */
  finAcked = false;
  /**
   * The FIN was not seen but inferred (from an ACK of unseen sequence space);
   * retracted if this endpoint later sends sequence space past it.
   */
  finInferred = false;
  /** Idle time before this endpoint's FIN (see TcpFlow.idleBeforeFinUs), -1 when unknown. */
  finIdleUs = -1;
  /**
   * The peer acknowledged sequence space of this endpoint the capture never
   * showed, up to nextSeq (its stream tail is unseen, FIN status unknown).
   */
  tailUnseen = false;
  /** This endpoint has (evidently) received the peer's FIN. */
  gotPeerFin = false;
  rstSent = false;
  /** TIME_WAIT start (restarted by a retransmitted peer FIN). */
  timeWaitStartUs = -1;

  // ---- what this endpoint acknowledges / advertises ----
  ackSeen = false;
  /** Highest ACK this endpoint sent (its RCV.NXT as far as we know). */
  highestAck = 0;
  /** Raw window of the last segment it sent, and whether that was a SYN (unscaled). */
  window = 0;
  windowKnown = false;
  /** The last window came on a SYN (never scaled). */
  windowFromSyn = false;

  // ---- SYN options ----
  wscale = -1;
  mss = -1;
  sackPermitted = false;

  // ---- counters ----
  packets = 0;
  ipBytes = 0;
  bytes = 0;
  retransmits = 0;
  outOfOrder = 0;
  keepalives = 0;
  zeroWindows = 0;
  /** Bytes of this endpoint's sequence space never seen. */
  missed = 0;

  // ---- Zeek history bookkeeping ----
  histLastSyn = -1;
  histLastFin = -1;
  histLastRst = -1;
  rxmitCount = 0;
  rxmitThresh = 1;
  zeroWinCount = 0;
  zeroWinThresh = 1;
  gapCount = 0;
  gapThresh = 1;
}
