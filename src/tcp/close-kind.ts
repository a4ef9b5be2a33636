/**
 * Close classification: how a connection ended (FlowRecord.closeKind).
 *
 * The rules, applied in this order (first match wins):
 *
 *  1. no_reply    The originator sent a SYN and the responder sent nothing at
 *                 all (whatever the originator did afterwards: retransmitted
 *                 SYNs, gave up with RST or FIN), and the originator never
 *                 sent an ACK (an ACK proves it received the SYN+ACK: the
 *                 capture saw one direction only, see below).
 *  2. refused     The first RST came from the responder, answering the
 *                 originator's SYN while the originator was still SYN_SENT
 *                 (the RST acknowledged the SYN, RFC 9293 3.10.7.3).
 *  3. RST seen (the first RST of the flow decides):
 *     a. reset_after_half_close
 *                 The first RST was sent by the side that sent the first FIN,
 *                 after that FIN, and either its peer had not sent a FIN of
 *                 its own yet, or its peer had sent new payload after the
 *                 first FIN (wrote into the half-closed connection; a FIN
 *                 following that data does not change the verdict).
 *                 This is the stale pooled-connection symptom (server FINs an
 *                 idle keep-alive connection, the client keeps the half-closed
 *                 socket in CLOSE_WAIT, later writes a request into it, and
 *                 the server's kernel answers with RST), and more generally
 *                 any RST from the FIN sender after its half-close. Whether
 *                 the FIN had been acknowledged does not matter.
 *     b. normal   Both FINs had been sent and acknowledged before the RST
 *                 (a late RST after a complete four-way close).
 *     c. reset    Any other RST (abortive close, RST from the CLOSE_WAIT side,
 *                 RST with no FIN at all, RST after both FINs but before both
 *                 were acknowledged).
 *  4. FIN seen, no RST (the first FIN's sender is F, its peer is P):
 *     a. fin_unacked       P never acknowledged F's FIN (F stuck in FIN_WAIT_1).
 *     b. close_wait        P acknowledged F's FIN but never sent its own FIN by
 *                          the end of the flow (P in CLOSE_WAIT, F in FIN_WAIT_2).
 *     c. last_ack_unacked  P sent its FIN but F never acknowledged it (P stuck in
 *                          LAST_ACK).
 *     d. normal            Both FINs sent and both acknowledged.
 *  5. open        No FIN and no RST (still established, or a handshake that
 *                 was answered but never completed or closed).
 *
 * One direction only (capturedOnlyRole): only one endpoint's packets were
 * captured, and they acknowledge sequence space of the other (its SYN+ACK,
 * data, a FIN; an RST+ACK acknowledges the SYN). The unseen side's SYN, data
 * and FIN are inferred from those ACKs as above, so the flow is classed by
 * the same rules, with two exceptions: a FIN sent by the seen side can never
 * be seen acknowledged, so fin_unacked and last_ack_unacked (an ACK missing
 * from the unseen side) become
 *     unknown     the capture could not show how the connection ended.
 * A capture whose every flow is one-direction also turns its SYN-only flows
 * from no_reply into unknown (FlowStore.endCapture): the reply direction was
 * not captured at all. Every class that rests on the missing direction is
 * marked inferred (flows.close_kind_inferred).
 *
 * "Acknowledged" means the peer sent an ACK at or past FIN sequence + 1,
 * compared with wrap-aware 32-bit arithmetic.
 *
 * FINs the capture did not show (process-segment.ts). A FIN counts as sent
 * when it is inferred, under these rules:
 *  - Implied by ACK: the peer ACKs exactly one sequence number past all the
 *    sender was seen to send (anomaly fin_implied_by_ack). Not when the
 *    sender's sequence space was anchored only by a bare zero-length first
 *    segment (mid-stream pickup): that segment may be a keep-alive probe at
 *    SND.NXT - 1, and the ACK of seq + 1 is then counted as a keep-alive and
 *    re-anchors the sender.
 *  - Assumed in an acknowledged unseen tail: the peer acknowledged more of
 *    the sender's stream than the capture showed (ack_of_unseen_data), then
 *    the peer sent its own FIN without writing anything after that
 *    acknowledgement (it reacted to end of stream), and the sender ACKed
 *    that FIN without sending anything more. If the peer wrote payload after
 *    acknowledging the unseen tail (a request lost from the capture, then
 *    the response), the tail is taken as data and nothing is assumed: the
 *    sender can still end in CLOSE_WAIT (the keep-alive pool case on a lossy
 *    capture). Otherwise the unseen tail may have been data only (sender now in
 *    CLOSE_WAIT) or data and a FIN (the sender closed first; its ACK of the
 *    peer's FIN finishes the close). The wire cannot tell; the finished
 *    close is taken, so a lost segment cannot make a CLOSE_WAIT verdict, and
 *    the anomaly fin_status_unknown marks the flow.
 *  - Retraction: an inferred FIN is taken back (anomaly
 *    fin_inference_retracted, transitions with cause 'FIN inference
 *    retracted' back to the states without it) when its sender later sends
 *    payload or a FIN occupying sequence space past it: that unit was data,
 *    not a FIN. A real FIN at the inferred place confirms it. The first FIN
 *    is then the peer's, if it sent one.
 */
import type { CloseKind } from './flow-record';
import { ROLE_NONE, ROLE_ORIG, ROLE_RESP, TcpFlow } from './tcp-flow';

/** ROLE_ORIG / ROLE_RESP when only that endpoint's direction was captured (see above), else ROLE_NONE. */
export function capturedOnlyRole(flow: TcpFlow): number {
  const o = flow.orig;
  const r = flow.resp;
  if (o.anyPacket && !r.anyPacket && o.ackFlagSent) return ROLE_ORIG;
  if (r.anyPacket && !o.anyPacket && r.ackFlagSent) return ROLE_RESP;
  return ROLE_NONE;
}

export function classifyClose(flow: TcpFlow, capturedOnly: number = capturedOnlyRole(flow)): CloseKind {
  const kind = classifyBothWays(flow);
  if (capturedOnly !== ROLE_NONE && (kind === 'fin_unacked' || kind === 'last_ack_unacked')) return 'unknown';
  return kind;
}

function classifyBothWays(flow: TcpFlow): CloseKind {
  const o = flow.orig;
  const r = flow.resp;
  if (o.synSent && !o.synAckSent && !r.anyPacket && !o.ackFlagSent) return 'no_reply';
  if (flow.refused) return 'refused';
  if (flow.firstRstBy !== ROLE_NONE) {
    if (flow.rstAfterHalfClose) return 'reset_after_half_close';
    if (flow.closedBeforeRst) return 'normal';
    return 'reset';
  }
  if (flow.firstFinBy !== ROLE_NONE) {
    const f = flow.firstFinBy === ROLE_ORIG ? o : r;
    const p = flow.firstFinBy === ROLE_ORIG ? r : o;
    if (!f.finAcked) return 'fin_unacked';
    if (!p.finSent) return 'close_wait';
    if (!p.finAcked) return 'last_ack_unacked';
    return 'normal';
  }
  return 'open';
}
