/**
 * Close classification: how a connection ended (FlowRecord.closeKind).
 *
 * The rules, applied in this order (first match wins):
 *
 *  1. no_reply    The originator sent a SYN and the responder sent nothing at
 *                 all (whatever the originator did afterwards: retransmitted
 *                 SYNs, gave up with RST or FIN).
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
 * "Acknowledged" means the peer sent an ACK at or past FIN sequence + 1,
 * compared with wrap-aware 32-bit arithmetic. A FIN inferred from an ACK one
 * past the sender's last sequence number counts as sent (see process-segment.ts).
 */
import type { CloseKind } from './flow-record';
import { ROLE_NONE, ROLE_ORIG, TcpFlow } from './tcp-flow';

export function classifyClose(flow: TcpFlow): CloseKind {
  const o = flow.orig;
  const r = flow.resp;
  if (o.synSent && !o.synAckSent && !r.anyPacket) return 'no_reply';
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
