import type { TcpFlow } from './tcp-flow';

/**
 * Where a flow was captured, estimated from its handshake, and how long a
 * segment seen at the capture point took to reach each endpoint.
 *
 * The capture point sees the SYN at t0, the SYN+ACK at t1 and the
 * originator's first ACK at t2. t1 - t0 is the time from the capture point
 * to the responder and back (plus the responder's processing), t2 - t1 the
 * same towards the originator. Captured on an endpoint's host, that
 * endpoint's half is its own kernel's processing only (µs) and the other
 * half holds the whole network path:
 *
 *  - both halves longer than BETWEEN_US (1 ms): the capture point is in between (a
 *    router, a mirror port, a tap), the network lies on both sides;
 *  - otherwise the capture point is at the end with the shorter half (the
 *    originator, `orig`, or the responder, `resp`), when that half is less
 *    than half the other and at least MIN_SPLIT_US (100 µs) shorter;
 *  - else unknown: on a path shorter than the hosts' own processing (two
 *    network namespaces on one machine: halves of 10-40 µs, the listener's
 *    SYN handling often the slower) the ends cannot be told apart.
 *
 * The capture's estimate is the majority of its flows' (schema view
 * capture_vantage). TCP timestamps are not used: Linux ticks
 * them in milliseconds, coarser than the half-RTTs they would have to split.
 * A flow without a complete, unambiguous handshake (mid-stream pickup,
 * retransmitted SYN or SYN+ACK, one direction only) has no estimate.
 */
export const V_UNKNOWN = 0;
export const V_ORIG = 1;
export const V_RESP = 2;
export const V_BETWEEN = 3;
export const VANTAGE_NAMES: readonly ('orig' | 'resp' | 'between' | null)[] = [null, 'orig', 'resp', 'between'];

/** Both half-RTTs longer than this: the capture point is in between. */
export const BETWEEN_US = 1000;
/** The far half must exceed the near one by at least this much (and be over twice as long). */
export const MIN_SPLIT_US = 100;

/**
 * Handshake timing, for the segments of a flow whose half-RTTs are not
 * known yet (flow.rttOrigUs === -1; the caller checks, so a flow pays one
 * comparison per packet once they are measured or known to be unmeasurable).
 */
export function noteHandshake(flow: TcpFlow, fromOrig: boolean, syn: boolean, ack: boolean, rst: boolean, tsUs: number): void {
  if (rst) return;
  if (syn) {
    if (!ack && fromOrig) {
      if (flow.hsSynUs === -1) flow.hsSynUs = tsUs;
      else flow.rttOrigUs = -2; // a second SYN: which one did the SYN+ACK answer?
    } else if (ack && !fromOrig && flow.hsSynUs >= 0) {
      if (flow.hsSynAckUs === -1) flow.hsSynAckUs = tsUs;
      else flow.rttOrigUs = -2;
    } else {
      flow.rttOrigUs = -2;
    }
    return;
  }
  if (flow.hsSynUs === -1 || flow.hsSynAckUs === -1) {
    // A segment before the handshake was seen whole: no estimate for this flow.
    flow.rttOrigUs = -2;
    return;
  }
  if (fromOrig && ack) {
    flow.rttRespUs = flow.hsSynAckUs - flow.hsSynUs;
    flow.rttOrigUs = tsUs - flow.hsSynAckUs;
  }
}

/** The vantage code of a flow (V_*). */
export function vantageOf(flow: TcpFlow): number {
  const a = flow.rttRespUs;
  const b = flow.rttOrigUs;
  if (a < 0 || b < 0) return V_UNKNOWN;
  if (a > BETWEEN_US && b > BETWEEN_US) return V_BETWEEN;
  if (b - a >= MIN_SPLIT_US && a * 2 < b) return V_RESP;
  if (a - b >= MIN_SPLIT_US && b * 2 < a) return V_ORIG;
  return V_UNKNOWN;
}

/**
 * Estimated time from the capture point to the endpoint (orig when toOrig):
 * 0 when the capture was taken at that endpoint or nothing is known,
 * otherwise half of the half-RTT towards it.
 */
export function deliveryUs(flow: TcpFlow, toOrig: boolean): number {
  const v = vantageOf(flow);
  if (v === V_UNKNOWN || v === (toOrig ? V_ORIG : V_RESP)) return 0;
  return Math.round((toOrig ? flow.rttOrigUs : flow.rttRespUs) / 2);
}

/**
 * When a segment seen at `sentUs` reached the endpoint (orig when toOrig), for
 * dating a receive-side transition whose proof came at `provenUs` (the
 * endpoint's ACK, or a later segment): sentUs plus the delivery delay, never
 * after the proof and never before the endpoint's previous transition
 * (`sinceUs`), so each endpoint's transitions stay in time order.
 */
export function arrivalUs(flow: TcpFlow, toOrig: boolean, sentUs: number, provenUs: number): number {
  let t = sentUs + deliveryUs(flow, toOrig);
  if (t > provenUs) t = provenUs;
  const since = (toOrig ? flow.orig : flow.resp).sinceUs;
  if (t < since) t = since;
  return t;
}
