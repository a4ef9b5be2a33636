import { DecodedPacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/decoded-packet';
import { seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq-math';
import { addRange, removeRange, takeBelow } from './seq-ranges';
import { TcpEndpoint } from './tcp-endpoint';
import { ROLE_ORIG, ROLE_RESP, ROLE_NONE, TcpFlow } from './tcp-flow';
import {
  ST_CLOSED,
  ST_CLOSE_WAIT,
  ST_CLOSING,
  ST_ESTABLISHED,
  ST_FIN_WAIT_1,
  ST_FIN_WAIT_2,
  ST_LAST_ACK,
  ST_SYN_RECEIVED,
  ST_SYN_SENT,
  ST_TIME_WAIT,
  ST_UNKNOWN,
  Z_CLOSED,
  Z_ESTABLISHED,
  Z_RESET,
} from './tcp-state-codes';
import { updateZeekHistory } from './zeek-history';
import { updateZeekState } from './zeek-state';
import { arrivalUs, noteHandshake } from './vantage';

/**
 * Apply one TCP segment to a flow: counters, Zeek history, sequence
 * accounting, and the per-endpoint RFC 9293 state machine.
 *
 * Evidence model (what "the state that endpoint's kernel must be in" means):
 *  - A segment seen on the wire is taken to be delivered to its receiver for
 *    the purpose of ACK and RST processing (the capture point sits between
 *    the hosts, as in Zeek and Wireshark).
 *  - Receipt of a FIN is taken from the receiver's own behaviour: it is
 *    proven when the receiver ACKs past the FIN, or when a later segment of
 *    the FIN's sender (sequence past the FIN) is seen, since TCP delivers in
 *    order. This keeps simultaneous close right (crossing FINs do not
 *    acknowledge each other) and makes Y enter CLOSE_WAIT when it ACKs X's
 *    FIN, as ARCHITECTURE.md states.
 *  - Proof and date are separate: the receiver's state changed when the
 *    segment reached it, so a receive-side transition (CLOSE_WAIT, CLOSING
 *    or TIME_WAIT on the peer's FIN; FIN_WAIT_2 / TIME_WAIT / CLOSED when our
 *    FIN is acknowledged; ESTABLISHED on the handshake's ACK; CLOSED on an
 *    RST) is dated at the segment's time plus the estimated delay from the
 *    capture point to the receiver (vantage.ts arrivalUs: 0 when captured at
 *    the receiver or without an estimate), not at the proof's time. The
 *    transition keeps its place in the log (order = order of evidence).
 *  - Exception: a FIN+ACK whose ACK covers our own FIN cannot have crossed
 *    it, so the endpoint in FIN_WAIT_1 goes straight to TIME_WAIT on it.
 *  - A FIN never seen on the wire is inferred only in one narrow case: the
 *    peer ACKs exactly one sequence number past everything the sender was
 *    seen to send (a FIN occupies one). This is counted as the anomaly
 *    'fin_implied_by_ack'. Any other ACK of unseen sequence space is counted
 *    as missed bytes (anomaly 'ack_of_unseen_data'), never as a FIN.
 *    Not when the sender's sequence space was anchored only by a bare first
 *    segment (mid-stream, no SYN/FIN/payload): that segment may be a Linux
 *    keep-alive probe at SND.NXT - 1, so an ACK of seq + 1 re-anchors the
 *    sender there and counts the segment as a keep-alive.
 *  - A FIN is also assumed inside an acknowledged but unseen stream tail
 *    when the sender then ACKs the peer's FIN with nothing more (anomaly
 *    'fin_status_unknown'), and any inferred FIN is retracted when its
 *    sender later sends sequence space past it ('fin_inference_retracted').
 *    The rules are spelled out in close-kind.ts.
 */
/**
 * Gaps found in the peer's sequence space while applying one segment, held
 * until the segment's state update is done (see commitGaps). Module state,
 * not per-packet objects: processSegment is not re-entrant.
 */
let pendGapBytes = 0;
let pendGapEvents = 0;
/** Of pendGapBytes, the part that was payload cut off by the snaplen. */
let pendCutBytes = 0;

/**
 * Capture-loss tally an engine passes in (Zeek's capture-loss script):
 * [0] acknowledged bytes and [1] acknowledged but never-seen bytes, counted
 * while both endpoints are established or cleanly closing (commitGaps);
 * snaplen-cut payload is not loss.
 */
export const LOSS_ACKED = 0;
export const LOSS_GAP = 1;

export function processSegment(flow: TcpFlow, pkt: DecodedPacket, tsUs: number, fromOrig: boolean, loss?: Float64Array): void {
  const x = fromOrig ? flow.orig : flow.resp;
  const y = fromOrig ? flow.resp : flow.orig;
  const flags = pkt.flags;
  const syn = (flags & TCP_SYN) !== 0;
  const fin = (flags & TCP_FIN) !== 0;
  const rst = (flags & TCP_RST) !== 0;
  const ack = (flags & TCP_ACK) !== 0;
  const seq = pkt.seq >>> 0;
  const ackNo = pkt.ack >>> 0;
  const len = pkt.payloadLen;
  // Payload the snaplen cut: as in Zeek (TCP_Endpoint::DataSent, weird truncated_tcp_payload) the
  // whole segment's data is then undelivered. Reassembled IPv4 fragments count as captured.
  const cut = len > 0 && !pkt.reassembled && pkt.capturedPayloadLen < len ? len : 0;
  pendGapBytes = 0;
  pendGapEvents = 0;
  pendCutBytes = 0;

  if (tsUs > flow.lastTsUs) flow.lastTsUs = tsUs;
  x.anyPacket = true;
  if (ack) x.ackFlagSent = true;
  if (flow.rttOrigUs === -1) noteHandshake(flow, fromOrig, syn, ack, rst, tsUs);
  x.packets++;
  x.ipBytes += pkt.ipLen;

  // Zeek history letters for the flag combination (S H F R D A I Q).
  updateZeekHistory(flow, fromOrig, x, flags, seq, len);

  // Zero-window advertisements, Zeek's rule (not with/after RST, not after the peer's FIN).
  if (pkt.window === 0 && !rst && y.zstate !== Z_CLOSED && x.zstate !== Z_RESET) {
    x.zeroWindows++;
    if (++x.zeroWinCount === x.zeroWinThresh) {
      flow.addHistory(fromOrig, 'W');
      x.zeroWinThresh *= 10;
    }
  }
  if (!rst) {
    x.window = pkt.window;
    x.windowKnown = true;
    x.windowFromSyn = syn;
  }
  if (syn) {
    if (pkt.mss >= 0) x.mss = pkt.mss;
    x.wscale = pkt.wscale;
    x.sackPermitted = pkt.sackPermitted;
  }

  // A SYN or SYN+ACK with the ISN already seen from x is a retransmission or a
  // duplicate (e.g. the same packet captured on two interfaces): no transition.
  const synRepeat = syn && x.synSent && seq === x.isn;
  let keepalive = false;
  const bytesBefore = x.bytes;
  if (x.finInferred && !rst && (len > 0 || fin)) {
    const end = (seq + len + (syn ? 1 : 0)) >>> 0;
    // Sequence space past the inferred FIN: it was data, not a FIN. A FIN at the inferred place confirms it.
    if (seqGt(end, x.finSeq)) retractInferredFin(flow, fromOrig, x, y, seq, tsUs);
    else if (fin && end === x.finSeq) x.finInferred = false;
  }
  // x's sequence jumps past what was seen of it: x wrote data the capture missed.
  const xJumped = x.seqInit && !syn && !rst && seqGt(seq, x.nextSeq);
  if (!rst) keepalive = accountSequence(flow, fromOrig, x, syn, fin, seq, len, cut, y.windowKnown && y.window === 0, !y.ackSeen || seqGe(y.highestAck, x.dataEnd));
  if (len > 0 && !rst && !keepalive) {
    flow.lastPayloadTsUs = tsUs;
    // x wrote after acknowledging y's unseen tail: y's connection was still
    // in use, the tail is taken as data (no FIN assumed in it later).
    if (y.tailUnseen && x.bytes > bytesBefore) y.tailUnseen = false;
    // New payload from the peer of the first FIN's sender: written into the half-closed connection.
    if (x.bytes > bytesBefore && flow.firstFinBy === (fromOrig ? ROLE_RESP : ROLE_ORIG)) flow.dataIntoHalfClosed = true;
  }

  // In-order delivery: a segment of x past x's FIN reaches y after that FIN.
  if (!rst && x.finSent && !y.gotPeerFin && seqGe(seq, (x.finSeq + 1) >>> 0)) {
    receiveFin(flow, !fromOrig, arrivalUs(flow, !fromOrig, x.finTsUs, NEVER), 'recv FIN (implied by later segment)');
  }

  if (syn && !rst && !synRepeat) handleSyn(flow, fromOrig, x, y, ack, ackNo, tsUs);
  const hadAck = x.ackSeen;
  const ackBefore = x.highestAck;
  if (ack && !rst) handleAck(flow, fromOrig, x, y, seq, len, ackNo, fin, tsUs);
  // x wrote (unseen) along with acknowledging y's unseen tail (see assumeFinInUnseenTail).
  if (xJumped && y.tailUnseen) y.tailUnseen = false;
  if (fin && !rst) handleFin(flow, fromOrig, x, y, seq, len, syn, tsUs);
  if (rst) handleRst(flow, fromOrig, x, y, seq, ack, ackNo, tsUs);

  updateZeekState(flow, fromOrig, x, y, flags, len);
  if (ack && !rst) commitGaps(flow, !fromOrig, y, x, hadAck, ackBefore, ackNo, loss);
}

/** Zeek's is_clean: established, or closed after having been established. */
function isClean(ep: TcpEndpoint): boolean {
  return ep.zstate === Z_ESTABLISHED || (ep.zstate === Z_CLOSED && ep.zprev === Z_ESTABLISHED);
}

/**
 * After the segment's state update (Zeek calls AckReceived after
 * UpdateStateMachine): the gaps the ACK revealed in `ep`'s sequence space
 * become missed bytes and G/g letters only while both endpoints are
 * established or cleanly closing (TCP_Reassembler's
 * established_or_cleanly_closing). So a mid-stream pickup (both partial), a
 * one-direction capture (the peer never active) and the ACK on an RST (its
 * sender is reset; such ACKs are not even used here) never add one. The
 * capture-loss tally counts the acknowledged bytes and the gaps among them
 * under the same condition, leaving out snaplen-cut payload. (Zeek's
 * capture-loss counts only while both are established; a download closed
 * by the server right after its last byte is mostly acknowledged after that
 * FIN, so the cleanly-closing part is counted here too.)
 */
function commitGaps(
  flow: TcpFlow,
  epIsOrig: boolean,
  ep: TcpEndpoint,
  acker: TcpEndpoint,
  hadAck: boolean,
  ackBefore: number,
  ackNo: number,
  loss: Float64Array | undefined,
): void {
  if (!isClean(ep) || !isClean(acker)) return;
  if (pendGapEvents > 0) {
    ep.missed += pendGapBytes;
    ep.lost += pendGapBytes - pendCutBytes;
    for (let i = 0; i < pendGapEvents; i++) bumpGap(flow, epIsOrig, ep);
  }
  if (loss === undefined || !hadAck) return;
  // The FIN octet is not data (Zeek: AckReceived stops at FIN_seq - 1).
  const upto = ep.finSent && seqGt(ackNo, ep.finSeq) ? ep.finSeq : ackNo;
  const advance = seqDiff(upto, ackBefore);
  if (advance > 0 && advance < 1 << 30) loss[LOSS_ACKED] += advance;
  loss[LOSS_GAP] += pendGapBytes - pendCutBytes;
}

/**
 * A flow's first packet is the answer to a connection attempt the capture did
 * not show: an RST+ACK with sequence number 0 and nothing else (the reply
 * RFC 9293 3.10.7.1 prescribes to a SYN on a closed port; a kernel's RST on
 * a live connection carries its real SND.NXT, which is practically never 0).
 * Its sender is the responder, and it was a refusal, not a mid-stream pickup.
 */
export function isRefusalRst(pkt: DecodedPacket): boolean {
  return (pkt.flags & (TCP_RST | TCP_ACK | TCP_SYN | TCP_FIN)) === (TCP_RST | TCP_ACK) && pkt.seq === 0 && pkt.payloadLen === 0;
}

/** The originator's SYN, implied by the refusal RST+ACK acknowledging `ackNo` (isRefusalRst). */
export function impliedSynBeforeRefusal(flow: TcpFlow, ackNo: number, tsUs: number): void {
  const o = flow.orig;
  initSeq(o, (ackNo - 1) >>> 0);
  o.synSent = true;
  flow.setState(true, ST_SYN_SENT, tsUs, 'SYN not seen (implied by RST+ACK)');
}

/** No later bound on a receive-side transition's time (arrivalUs). */
const NEVER = Number.POSITIVE_INFINITY;

/**
 * Returns true when the segment is a probe (seq = next - 1 with 0 or 1
 * byte): a keep-alive, or a zero-window probe when the peer's last
 * advertised window is 0 (those are not counted as keep-alives). A 1-byte
 * segment at next - 1 is a probe only when the peer has acknowledged that
 * byte (`peerAckedAll`, or no ACK of the peer seen at all); otherwise it is
 * the retransmission of a 1-byte segment still unacknowledged.
 */
function accountSequence(
  flow: TcpFlow,
  fromOrig: boolean,
  x: TcpEndpoint,
  syn: boolean,
  fin: boolean,
  seq: number,
  len: number,
  cut: number,
  peerWindowZero: boolean,
  peerAckedAll: boolean,
): boolean {
  if (!x.seqInit) {
    initSeq(x, syn ? seq : (seq - 1) >>> 0);
    // A bare first segment could be a keep-alive at SND.NXT - 1: the anchor is uncertain.
    x.bareAnchor = !syn && !fin && len === 0;
  } else if (syn && seq !== x.isn) {
    if (x.bytes === 0 && !x.finSent) {
      flow.anomaly('syn_seq_jump');
      initSeq(x, seq);
    } else {
      flow.anomaly('syn_inside_connection');
    }
  }
  if (x.bareAnchor && !syn && seq === ((x.dataEnd + 1) >>> 0)) {
    // The next segment starts one past the bare first one: that was a
    // keep-alive probe at SND.NXT - 1. Re-anchor here (no missed byte).
    reanchorAfterProbe(x, seq);
  }
  // A repeated SYN (same ISN) is a retransmitted segment.
  if (syn && len === 0 && x.synSent && seq === x.isn) x.retransmits++;
  const dataStart = syn ? (seq + 1) >>> 0 : seq;
  const dataEndSeg = (dataStart + len) >>> 0;
  const endAll = fin ? (dataEndSeg + 1) >>> 0 : dataEndSeg;
  let keepalive = false;

  if (len > 0) {
    const advance = seqDiff(dataEndSeg, x.dataEnd);
    if (advance > 0) {
      const startGap = seqDiff(dataStart, x.dataEnd);
      if (startGap > 0) {
        addHole(x, x.dataEnd, dataStart);
        // Space a bare segment had skipped is now a hole (one account of it, not two).
        if (x.skips !== null) removeRange(x.skips, x.dataEnd, dataStart);
      }
      x.bytes += advance;
      x.dataEnd = dataEndSeg;
      // The new bytes of a segment the snaplen cut.
      if (cut > 0) {
        if (x.cuts === null) x.cuts = [];
        addRange(x.cuts, advance < len ? (dataEndSeg - advance) >>> 0 : dataStart, dataEndSeg, MAX_RANGES);
      }
    } else if (fillHoles(x, dataStart, dataEndSeg)) {
      x.outOfOrder++;
    } else if (len === 1 && !syn && !fin && peerAckedAll && dataStart === ((x.dataEnd - 1) >>> 0)) {
      if (!peerWindowZero) x.keepalives++;
      keepalive = true;
    } else {
      x.retransmits++;
    }
    // Skipped space this payload turns out to fill was seen after all.
    if (x.skips !== null) removeRange(x.skips, dataStart, dataEndSeg);
    // Zeek's 't': a payload segment that does not advance the highest sequence seen.
    if (x.zstate !== Z_RESET && seqDiff(endAll, x.nextSeq) <= 0) {
      if (++x.rxmitCount === x.rxmitThresh) {
        flow.addHistory(fromOrig, 'T');
        x.rxmitThresh *= 10;
      }
    }
  } else if (!syn && !fin && !x.finSent && seq === ((x.dataEnd - 1) >>> 0)) {
    if (!peerWindowZero) x.keepalives++;
    keepalive = true;
  } else if (!syn && !x.finSent && !x.bareAnchor && seqDiff(seq, x.nextSeq) > (fin ? 0 : 1) && seqDiff(seq, x.nextSeq) < 1 << 30) {
    // A payload-less FIN or ACK ahead of the last sequence number seen: the
    // space it skipped was sent and not captured, a gap once acknowledged
    // (unless payload filling it arrives first: reordered, not missed). An
    // ACK exactly one ahead stands past a FIN not seen (yet: reordered, or
    // lost), and the FIN octet is never a gap.
    if (x.skips === null) x.skips = [];
    addRange(x.skips, x.nextSeq, seq, MAX_RANGES);
  }
  if (x.bareAnchor) {
    if (len > 0 || syn || fin) x.bareAnchor = false;
    else if (seq === x.dataEnd && !peerWindowZero) x.bareAnchorSegs++;
  }
  if (seqGt(endAll, x.nextSeq)) x.nextSeq = endAll;
  if (x.tailUnseen && (len > 0 || fin) && seqGe(endAll, x.nextSeq)) x.tailUnseen = false;
  return keepalive;
}

/** ep's bare first segment(s) were keep-alive probes; its sequence space really continues at `next`. */
function reanchorAfterProbe(ep: TcpEndpoint, next: number): void {
  ep.keepalives += ep.bareAnchorSegs;
  ep.bareAnchorSegs = 0;
  ep.bareAnchor = false;
  ep.isn = (next - 1) >>> 0;
  ep.nextSeq = next;
  ep.dataEnd = next;
}

function initSeq(ep: TcpEndpoint, isn: number): void {
  ep.seqInit = true;
  ep.isn = isn;
  ep.nextSeq = (isn + 1) >>> 0;
  ep.dataEnd = ep.nextSeq;
  ep.holes = null;
  ep.cuts = null;
  ep.skips = null;
}

const MAX_HOLES = 8;

function addHole(ep: TcpEndpoint, start: number, end: number): void {
  if (ep.holes === null) ep.holes = [];
  const h = ep.holes;
  // Adjacent to the last hole: one hole (one gap when acknowledged, as in Zeek's reassembler).
  const merged = h.length > 0 && h[h.length - 1] === start ? seqDiff(end, h[h.length - 2]) : 0;
  if (merged > 0 && merged < 1 << 30) {
    h[h.length - 1] = end;
    return;
  }
  if (h.length >= MAX_HOLES * 2) {
    // Too many open holes: the oldest is given up as missed.
    ep.missed += seqDiff(h[1], h[0]);
    h.splice(0, 2);
  }
  h.push(start, end);
}

/** Removes [start, end) from the holes; true when it overlapped any. */
function fillHoles(ep: TcpEndpoint, start: number, end: number): boolean {
  const h = ep.holes;
  if (h === null || h.length === 0) return false;
  let hit = false;
  for (let i = 0; i < h.length; ) {
    const hs = h[i];
    const he = h[i + 1];
    if (seqLt(start, he) && seqGt(end, hs)) {
      hit = true;
      const keepLeft = seqLt(hs, start);
      const keepRight = seqGt(he, end);
      if (keepLeft && keepRight) {
        h[i + 1] = start;
        h.splice(i + 2, 0, end, he);
        i += 4;
        continue;
      } else if (keepLeft) {
        h[i + 1] = start;
      } else if (keepRight) {
        h[i] = end;
      } else {
        h.splice(i, 2);
        continue;
      }
    }
    i += 2;
  }
  return hit;
}

function bumpGap(flow: TcpFlow, isOrig: boolean, ep: TcpEndpoint): void {
  if (++ep.gapCount === ep.gapThresh) {
    flow.addHistory(isOrig, 'G');
    ep.gapThresh *= 10;
  }
}

/** Skipped and snaplen-cut ranges kept per endpoint (seq-ranges.ts); older ones are forgotten. */
const MAX_RANGES = 16;

/** The peer acknowledged `ackNo`: the snaplen-cut payload below it is a gap, and not capture loss; skipped space below it is a gap. */
function ackRanges(ep: TcpEndpoint, ackNo: number): void {
  if (ep.cuts !== null && ep.cuts.length > 0) {
    const n = takeBelow(ep.cuts, ackNo);
    if (n > 0) {
      pendGapBytes += n;
      pendCutBytes += n;
      pendGapEvents++;
    }
  }
  if (ep.skips !== null && ep.skips.length > 0) {
    const n = takeBelow(ep.skips, ackNo);
    if (n > 0) {
      pendGapBytes += n;
      pendGapEvents++;
    }
  }
}

/** The peer acknowledged `ackNo` of `ep`'s sequence space: holes below it were missed by the capture. */
function ackGaps(flow: TcpFlow, epIsOrig: boolean, ep: TcpEndpoint, ackNo: number): void {
  const h = ep.holes;
  if (h !== null) {
    for (let i = 0; i < h.length; ) {
      const hs = h[i];
      const he = h[i + 1];
      if (seqLt(hs, ackNo)) {
        const upto = seqLt(ackNo, he) ? ackNo : he;
        pendGapBytes += seqDiff(upto, hs);
        pendGapEvents++;
        if (upto === he) {
          h.splice(i, 2);
          continue;
        }
        h[i] = upto;
      }
      i += 2;
    }
  }
  const unseen = seqDiff(ackNo, ep.nextSeq);
  if (unseen > 0) {
    if (unseen < 1 << 30 && !ep.finSent) {
      flow.anomaly('ack_of_unseen_data');
      pendGapBytes += unseen;
      pendGapEvents++;
      ep.bytes += unseen;
      ep.dataEnd = ackNo;
      ep.nextSeq = ackNo;
      ep.tailUnseen = true;
    } else {
      flow.anomaly('ack_beyond_sent_data');
    }
  }
}

function handleSyn(
  flow: TcpFlow,
  fromOrig: boolean,
  x: TcpEndpoint,
  y: TcpEndpoint,
  ack: boolean,
  ackNo: number,
  tsUs: number,
): void {
  x.synSent = true;
  if (!ack) {
    if (x.state === ST_UNKNOWN || x.state === ST_CLOSED) flow.setState(fromOrig, ST_SYN_SENT, tsUs, 'sent SYN');
    return;
  }
  x.synAckSent = true;
  if (x.state === ST_UNKNOWN || x.state === ST_SYN_SENT || x.state === ST_CLOSED) {
    flow.setState(fromOrig, ST_SYN_RECEIVED, tsUs, 'sent SYN+ACK');
  }
  if (y.state === ST_UNKNOWN) {
    // The SYN was not captured; the SYN+ACK proves it was sent.
    if (!y.seqInit) initSeq(y, (ackNo - 1) >>> 0);
    y.synSent = true;
    flow.setState(!fromOrig, ST_SYN_SENT, tsUs, 'SYN not seen (implied by SYN+ACK)');
  }
  if (y.state === ST_SYN_SENT) {
    if (acksSyn(y, ackNo)) {
      y.synAcked = true;
      flow.setState(!fromOrig, ST_ESTABLISHED, tsUs, 'recv SYN+ACK');
    } else {
      flow.anomaly('bad_syn_ack');
    }
  }
}

/**
 * RFC 9293 3.10.7.3: in SYN-SENT an ACK is acceptable when SND.UNA < SEG.ACK
 * =< SND.NXT, i.e. it covers the SYN and at most the data sent with it (TCP
 * Fast Open: a SYN-ACK or an RST acknowledging the SYN's payload).
 */
function acksSyn(ep: TcpEndpoint, ackNo: number): boolean {
  return ep.seqInit && seqGt(ackNo, ep.isn) && seqLe(ackNo, ep.nextSeq);
}

function handleAck(
  flow: TcpFlow,
  fromOrig: boolean,
  x: TcpEndpoint,
  y: TcpEndpoint,
  seq: number,
  len: number,
  ackNo: number,
  finInSegment: boolean,
  tsUs: number,
): void {
  if (!y.seqInit) {
    // Nothing seen from y yet: start its sequence space where x says it is.
    initSeq(y, (ackNo - 1) >>> 0);
  } else {
    if (y.bareAnchor && !y.finSent && ackNo === ((y.nextSeq + 1) >>> 0)) {
      // y was first seen in a bare segment and x acknowledges one past it: that
      // segment was a keep-alive probe at SND.NXT - 1, not y's last sequence
      // number before a FIN. Re-anchor y's sequence space at x's ACK.
      reanchorAfterProbe(y, ackNo);
    } else if (!y.finSent && ackNo === ((y.nextSeq + 1) >>> 0) && y.synSent === y.synAcked && canSendFin(y.state)) {
      // Exactly one unit past everything y was seen to send: y's FIN was not captured.
      flow.anomaly('fin_implied_by_ack');
      y.nextSeq = ackNo;
      sendFin(flow, !fromOrig, y, (ackNo - 1) >>> 0, tsUs, 'FIN not seen (implied by peer ACK)');
      y.finInferred = true;
    }
    if (y.synSent && !y.synAcked && seqGe(ackNo, (y.isn + 1) >>> 0)) {
      y.synAcked = true;
      if (y.state === ST_SYN_RECEIVED) flow.setState(!fromOrig, ST_ESTABLISHED, arrivalUs(flow, !fromOrig, tsUs, NEVER), 'recv ACK of SYN+ACK');
    }
    if (
      y.finSent &&
      !x.gotPeerFin &&
      !x.finSent &&
      x.tailUnseen &&
      len === 0 &&
      !finInSegment &&
      seq === x.nextSeq &&
      x.state === ST_ESTABLISHED &&
      y.state === ST_FIN_WAIT_1 &&
      seqGe(ackNo, (y.finSeq + 1) >>> 0)
    ) {
      assumeFinInUnseenTail(flow, fromOrig, x, y, tsUs);
    }
    if (y.finSent) {
      const pastFin = seqGe(ackNo, (y.finSeq + 1) >>> 0);
      // x's kernel changed state when y's FIN reached it; x's ACK only proves it.
      if (pastFin && !x.gotPeerFin) receiveFin(flow, fromOrig, arrivalUs(flow, fromOrig, y.finTsUs, tsUs), 'recv FIN');
      if (pastFin && !y.finAcked) {
        y.finAcked = true;
        const yIsOrig = !fromOrig;
        const at = arrivalUs(flow, yIsOrig, tsUs, NEVER);
        if (y.state === ST_FIN_WAIT_1) {
          if (finInSegment && !y.gotPeerFin) {
            y.gotPeerFin = true;
            flow.setState(yIsOrig, ST_TIME_WAIT, at, 'recv FIN+ACK of own FIN');
          } else {
            flow.setState(yIsOrig, ST_FIN_WAIT_2, at, 'FIN acked');
          }
        } else if (y.state === ST_CLOSING) {
          flow.setState(yIsOrig, ST_TIME_WAIT, at, 'FIN acked');
        } else if (y.state === ST_LAST_ACK) {
          flow.setState(yIsOrig, ST_CLOSED, at, 'FIN acked');
        }
      }
    }
    if (y.bareAnchor && seqGe(ackNo, y.nextSeq)) y.bareAnchor = false;
    const yNextBefore = y.nextSeq;
    if (y.cuts !== null || y.skips !== null) ackRanges(y, ackNo);
    ackGaps(flow, !fromOrig, y, ackNo);
    // Payload on the segment acknowledging y's unseen tail: x wrote after it (see assumeFinInUnseenTail).
    if (len > 0 && y.tailUnseen) y.tailUnseen = false;
    // x acknowledges data of y the capture missed: y wrote after acknowledging x's unseen tail.
    if (x.tailUnseen && y.nextSeq !== yNextBefore) x.tailUnseen = false;
  }
  // x (SYN_RECEIVED) acknowledges data of y: y's data carried the ACK of x's
  // SYN+ACK, which the capture did not show (one direction only). Not the
  // SYN+ACK itself (seq = ISN), which may acknowledge TCP Fast Open data.
  if (x.state === ST_SYN_RECEIVED && seq !== x.isn && y.seqInit && seqGt(ackNo, (y.isn + 1) >>> 0)) {
    x.synAcked = true;
    flow.setState(fromOrig, ST_ESTABLISHED, tsUs, 'ACK of SYN+ACK not seen (implied by ACK of peer data)');
  }
  if (!x.ackSeen || seqGt(ackNo, x.highestAck)) {
    x.highestAck = ackNo;
    x.ackSeen = true;
  }
  // x sends a plain ACK while in SYN_SENT: it must have received a SYN+ACK we did not see.
  if (x.state === ST_SYN_SENT && y.synSent === false) {
    flow.setState(fromOrig, ST_ESTABLISHED, tsUs, 'SYN+ACK not seen (implied by ACK)');
    if (y.state === ST_UNKNOWN) flow.setState(!fromOrig, ST_ESTABLISHED, tsUs, 'SYN+ACK not seen (implied by peer ACK)');
  }
}

/**
 * x ACKs y's FIN with nothing more, while the end of x's own stream was never
 * seen but y had acknowledged it, and y sent no payload after that
 * acknowledgement (only its FIN). Either that unseen tail was data only (x
 * now enters CLOSE_WAIT) or it ended with x's FIN (y received it, closed
 * from CLOSE_WAIT, x is closing: FIN_WAIT_2 now, TIME_WAIT on y's FIN). The
 * wire cannot tell them apart; the close that finished is taken (x is not
 * left in CLOSE_WAIT) and the anomaly 'fin_status_unknown' records the
 * guess. Data or a FIN from x past the assumed FIN retracts it.
 */
function assumeFinInUnseenTail(flow: TcpFlow, fromOrig: boolean, x: TcpEndpoint, y: TcpEndpoint, tsUs: number): void {
  flow.anomaly('fin_status_unknown');
  const finSeq = (x.nextSeq - 1) >>> 0;
  if (x.dataEnd === x.nextSeq && x.bytes > 0) {
    // ack_of_unseen_data counted the FIN's sequence number as a missed byte.
    x.dataEnd = finSeq;
    x.bytes--;
    if (x.missed > 0) x.missed--;
  }
  x.tailUnseen = false;
  x.finSent = true;
  x.finInferred = true;
  x.finSeq = finSeq;
  x.finTsUs = tsUs;
  x.finIdleUs = -1;
  x.finAcked = true;
  y.gotPeerFin = true;
  flow.setState(fromOrig, ST_FIN_WAIT_2, tsUs, 'FIN assumed in acknowledged unseen data');
  flow.setState(!fromOrig, ST_LAST_ACK, tsUs, 'peer FIN assumed in acknowledged unseen data');
}

/**
 * x (orig when xIsOrig) sent sequence space past its inferred FIN: there was
 * no FIN there. Both endpoints go back to the states they would be in
 * without it, the first FIN becomes y's (if any), and the anomaly
 * 'fin_inference_retracted' is counted. Not after an RST.
 */
function retractInferredFin(
  flow: TcpFlow,
  xIsOrig: boolean,
  x: TcpEndpoint,
  y: TcpEndpoint,
  segStart: number,
  tsUs: number,
): void {
  x.finInferred = false;
  if (x.rstSent || y.rstSent) return;
  flow.anomaly('fin_inference_retracted');
  if (x.dataEnd === x.finSeq && seqGt(segStart, x.finSeq)) {
    // The unit the FIN was thought to occupy was data the capture missed.
    x.dataEnd = (x.finSeq + 1) >>> 0;
    x.bytes++;
    x.missed++;
  }
  x.finSent = false;
  x.finAcked = false;
  x.finTsUs = -1;
  x.finIdleUs = -1;
  y.gotPeerFin = false;
  const cause = 'FIN inference retracted';
  flow.setState(xIsOrig, x.gotPeerFin ? ST_CLOSE_WAIT : ST_ESTABLISHED, tsUs, cause);
  flow.setState(!xIsOrig, y.finSent ? (y.finAcked ? ST_FIN_WAIT_2 : ST_FIN_WAIT_1) : ST_ESTABLISHED, tsUs, cause);
  if (flow.orig.state !== ST_CLOSED || flow.resp.state !== ST_CLOSED) flow.closedAtUs = -1;
  if (flow.firstFinBy === (xIsOrig ? ROLE_ORIG : ROLE_RESP)) {
    flow.dataIntoHalfClosed = false;
    if (y.finSent) {
      flow.firstFinBy = xIsOrig ? ROLE_RESP : ROLE_ORIG;
      flow.firstFinTsUs = y.finTsUs;
      flow.idleBeforeFinUs = y.finIdleUs;
    } else {
      flow.firstFinBy = ROLE_NONE;
      flow.firstFinTsUs = -1;
      flow.idleBeforeFinUs = -1;
    }
  }
}

function canSendFin(state: number): boolean {
  return state === ST_ESTABLISHED || state === ST_CLOSE_WAIT || state === ST_SYN_RECEIVED;
}

/** `isOrig` endpoint receives its peer's FIN. */
function receiveFin(flow: TcpFlow, isOrig: boolean, tsUs: number, cause: string): void {
  const r = isOrig ? flow.orig : flow.resp;
  r.gotPeerFin = true;
  switch (r.state) {
    case ST_ESTABLISHED:
    case ST_SYN_RECEIVED:
    case ST_SYN_SENT:
    case ST_UNKNOWN:
      flow.setState(isOrig, ST_CLOSE_WAIT, tsUs, cause);
      break;
    case ST_FIN_WAIT_1:
      flow.setState(isOrig, ST_CLOSING, tsUs, cause);
      break;
    case ST_FIN_WAIT_2:
      flow.setState(isOrig, ST_TIME_WAIT, tsUs, cause);
      break;
    default:
      break;
  }
}

function handleFin(
  flow: TcpFlow,
  fromOrig: boolean,
  x: TcpEndpoint,
  y: TcpEndpoint,
  seq: number,
  len: number,
  syn: boolean,
  tsUs: number,
): void {
  const finSeq = (seq + len + (syn ? 1 : 0)) >>> 0;
  if (x.finSent) {
    if (seqGt(finSeq, x.finSeq)) {
      flow.anomaly('fin_seq_changed');
      x.finSeq = finSeq;
      x.finAcked = false;
    } else {
      // Retransmitted FIN: no new transition. A bare one is a retransmitted
      // segment (with payload it was counted in accountSequence).
      if (len === 0) x.retransmits++;
      // It restarts the peer's 2MSL timer (RFC 9293 3.10.7.4).
      if (y.state === ST_TIME_WAIT) y.timeWaitStartUs = tsUs;
    }
    return;
  }
  sendFin(flow, fromOrig, x, finSeq, tsUs, 'sent FIN');
}

function sendFin(
  flow: TcpFlow,
  fromOrig: boolean,
  x: TcpEndpoint,
  finSeq: number,
  tsUs: number,
  cause: string,
): void {
  x.finSent = true;
  x.finSeq = finSeq;
  x.finTsUs = tsUs;
  // Idle since the last payload, else since the handshake. Picked up
  // mid-stream with no payload seen: the silence began before the capture,
  // its length is unknown (-1, null in the record).
  const base =
    flow.lastPayloadTsUs >= 0 ? flow.lastPayloadTsUs : flow.midstream ? -1 : flow.establishedTsUs >= 0 ? flow.establishedTsUs : flow.firstTsUs;
  x.finIdleUs = base >= 0 ? tsUs - base : -1;
  if (flow.firstFinBy === ROLE_NONE) {
    flow.firstFinBy = fromOrig ? ROLE_ORIG : ROLE_RESP;
    flow.firstFinTsUs = tsUs;
    flow.idleBeforeFinUs = x.finIdleUs;
  }
  switch (x.state) {
    case ST_CLOSE_WAIT:
      flow.setState(fromOrig, ST_LAST_ACK, tsUs, cause);
      break;
    case ST_ESTABLISHED:
    case ST_SYN_RECEIVED:
    case ST_SYN_SENT:
    case ST_UNKNOWN:
      flow.setState(fromOrig, ST_FIN_WAIT_1, tsUs, cause);
      break;
    case ST_CLOSED:
      flow.anomaly('fin_after_close');
      break;
    default:
      break;
  }
}

function handleRst(
  flow: TcpFlow,
  fromOrig: boolean,
  x: TcpEndpoint,
  y: TcpEndpoint,
  seq: number,
  ack: boolean,
  ackNo: number,
  tsUs: number,
): void {
  const role = fromOrig ? ROLE_ORIG : ROLE_RESP;
  const first = flow.firstRstBy === ROLE_NONE;
  if (first) {
    flow.firstRstBy = role;
    flow.firstRstTsUs = tsUs;
    if (flow.firstFinBy === role && (!y.finSent || flow.dataIntoHalfClosed)) flow.rstAfterHalfClose = true;
    if (x.finSent && y.finSent && x.finAcked && y.finAcked) flow.closedBeforeRst = true;
  }
  x.rstSent = true;
  flow.setState(fromOrig, ST_CLOSED, tsUs, 'sent RST');

  if (y.state === ST_UNKNOWN || y.state === ST_CLOSED) return;
  let accept: boolean;
  if (y.state === ST_SYN_SENT) {
    // RFC 9293 3.10.7.3: in SYN-SENT a RST is acceptable if its ACK acknowledges the SYN.
    accept = ack && acksSyn(y, ackNo);
  } else {
    const rcvNxt = y.ackSeen ? y.highestAck : x.seqInit ? x.nextSeq : seq;
    const win = y.windowKnown ? y.window * (y.windowFromSyn ? 1 : 2 ** effectiveScale(flow, y)) : 0x7fffffff;
    const d = seqDiff(seq, rcvNxt);
    accept = d >= 0 && d < Math.max(win, 1);
  }
  if (accept) {
    if (first && !fromOrig && y.state === ST_SYN_SENT) flow.refused = true;
    flow.setState(!fromOrig, ST_CLOSED, arrivalUs(flow, !fromOrig, tsUs, NEVER), y.state === ST_SYN_SENT ? 'recv RST (refused)' : 'recv RST');
  } else {
    flow.anomaly('rst_out_of_window');
  }
}

/**
 * Window scale that applies to `ep`'s advertised windows: its SYN option when
 * both SYNs carried one, 0 when scaling was not negotiated, and the maximum
 * (14) when the handshake was not seen, so that window checks stay lenient.
 */
export function effectiveScale(flow: TcpFlow, ep: TcpEndpoint): number {
  const peer = ep === flow.orig ? flow.resp : flow.orig;
  if (ep.synSent && peer.synSent) return ep.wscale >= 0 && peer.wscale >= 0 ? ep.wscale : 0;
  if (ep.synSent) return ep.wscale >= 0 ? ep.wscale : 0;
  return 14;
}
