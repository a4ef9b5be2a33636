import { encodeAppFacts } from '../app/app-hook';
import { ipv4Text, ipv6Text } from '../flow/address-text';
import { communityId4, communityId6 } from '../flow/community-id';
import type { FlowRecord } from './flow-record';
import { decodeFlowRecord, F, FlowBatchBuilder, pushAnomalies, pushOwners, pushTransition, S } from './flow-batch';
import { capturedOnlyRole, classifyClose } from './close-kind';
import { TcpEndpoint } from './tcp-endpoint';
import { ROLE_NONE, ROLE_ORIG, TcpFlow } from './tcp-flow';
import { ST_CLOSED, ST_CLOSING, ST_FIN_WAIT_1, ST_LAST_ACK, ST_TIME_WAIT, ST_UNKNOWN } from './tcp-state-codes';
import { VANTAGE_NAMES, vantageOf } from './vantage';
import { visitTransitions } from './transition-log';
import { zeekConnState } from './zeek-state';

/** Window scale this side negotiated: its SYN option if the peer's SYN also carried one; -1 otherwise. */
function negotiatedScale(ep: TcpEndpoint, peer: TcpEndpoint): number {
  if (!ep.synSent || ep.wscale < 0) return -1;
  if (peer.synSent && peer.wscale < 0) return -1;
  return ep.wscale;
}

function putStats(a: Float64Array, at: number, ep: TcpEndpoint, peer: TcpEndpoint): void {
  a[at + S.PACKETS] = ep.packets;
  a[at + S.BYTES] = ep.bytes;
  a[at + S.IP_BYTES] = ep.ipBytes;
  a[at + S.RETRANSMITS] = ep.retransmits;
  a[at + S.OUT_OF_ORDER] = ep.outOfOrder;
  a[at + S.KEEPALIVES] = ep.keepalives;
  a[at + S.ZERO_WINDOWS] = ep.zeroWindows;
  a[at + S.WINDOW_SCALE] = negotiatedScale(ep, peer);
  a[at + S.MSS] = ep.mss;
}

export function isFinished(flow: TcpFlow): boolean {
  const o = flow.orig.state;
  const r = flow.resp.state;
  return (o === ST_CLOSED || o === ST_TIME_WAIT) && (r === ST_CLOSED || r === ST_TIME_WAIT);
}

/** Cause of the transition to UNKNOWN on a one-direction capture. */
const UNSEEN_CAUSE = 'cannot be known (direction not captured)';

/** Append the transition of an endpoint (in state `from`) to UNKNOWN; returns 1 (one transition). */
function pushUnknown(b: FlowBatchBuilder, atUs: number, isOrig: boolean, from: number): number {
  b.reserve(5);
  pushTransition(b, atUs, isOrig, b.stateText(from), b.stateText(ST_UNKNOWN), b.text(UNSEEN_CAUSE));
  return 1;
}

/** States an endpoint leaves only on an ACK from its peer. */
function waitsForAck(state: number): boolean {
  return state === ST_FIN_WAIT_1 || state === ST_CLOSING || state === ST_LAST_ACK;
}

function role(r: number): 'orig' | 'resp' | null {
  return r === ROLE_NONE ? null : r === ROLE_ORIG ? 'orig' : 'resp';
}

/**
 * Append a flow as it stands to a batch (flow-batch.ts): the one place that
 * turns a TcpFlow into the values of its record. `final`: the flow is being
 * emitted for good (only then can it count as finished).
 */
export function encodeFlow(flow: TcpFlow, final: boolean, b: FlowBatchBuilder): void {
  if (flow.origText === null || flow.respText === null) {
    if (flow.ipVersion === 4) {
      flow.origText = ipv4Text(flow.origAddr4);
      flow.respText = ipv4Text(flow.respAddr4);
    } else {
      flow.origText = ipv6Text(flow.origAddr6 as Uint32Array);
      flow.respText = ipv6Text(flow.respAddr6 as Uint32Array);
    }
  }
  const o = flow.orig;
  const r = flow.resp;
  const p = b.beginFlow(0);
  const a = b.nums;
  a[p + F.UID] = flow.uid;
  a[p + F.IP_VERSION] = flow.ipVersion;
  a[p + F.ORIG_H] = b.text(flow.origText);
  a[p + F.ORIG_P] = flow.origPort;
  a[p + F.RESP_H] = b.text(flow.respText);
  a[p + F.RESP_P] = flow.respPort;
  a[p + F.FIRST_TS] = flow.firstTsUs;
  a[p + F.LAST_TS] = flow.lastTsUs;
  putStats(a, p + F.ORIG, o, r);
  putStats(a, p + F.RESP, r, o);
  // Zeek's missed_bytes: gaps acknowledged while both endpoints were clean
  // (process-segment.ts commitGaps); holes never acknowledged are not counted.
  a[p + F.MISSED] = o.missed + r.missed;
  a[p + F.LOST_BYTES] = o.lost + r.lost;
  a[p + F.HISTORY] = b.freshText(flow.history);
  a[p + F.CONN_STATE] = b.text(zeekConnState(flow));
  a[p + F.MIDSTREAM] = flow.midstream ? 1 : 0;
  const only = capturedOnlyRole(flow);
  // The seen side's FIN can never be seen acknowledged on a one-direction
  // capture: whether the unseen side received it, and so what either side did
  // next, cannot be known. Both are reported UNKNOWN from then on, by a
  // transition appended to the flow's own (not kept in the engine: a later
  // packet of the unseen side would make it known after all).
  let origUnknownAt = -1;
  let respUnknownAt = -1;
  if (only !== ROLE_NONE) {
    const seenIsOrig = only === ROLE_ORIG;
    const seen = seenIsOrig ? o : r;
    const unseen = seenIsOrig ? r : o;
    if (seen.finSent && !seen.finAcked) {
      const unseenAt = unseen.state === ST_UNKNOWN ? -1 : Math.max(seen.finTsUs, unseen.sinceUs);
      const seenAt = waitsForAck(seen.state) ? Math.max(flow.lastTsUs, seen.sinceUs) : -1;
      origUnknownAt = seenIsOrig ? seenAt : unseenAt;
      respUnknownAt = seenIsOrig ? unseenAt : seenAt;
    }
  }
  const origState = origUnknownAt >= 0 ? ST_UNKNOWN : o.state;
  const respState = respUnknownAt >= 0 ? ST_UNKNOWN : r.state;
  a[p + F.ORIG_STATE] = b.stateText(origState);
  a[p + F.RESP_STATE] = b.stateText(respState);
  a[p + F.ORIG_SINCE] = origUnknownAt >= 0 ? origUnknownAt : o.sinceUs >= 0 ? o.sinceUs : flow.firstTsUs;
  a[p + F.RESP_SINCE] = respUnknownAt >= 0 ? respUnknownAt : r.sinceUs >= 0 ? r.sinceUs : flow.firstTsUs;
  a[p + F.FIRST_FIN_BY] = b.text(role(flow.firstFinBy));
  a[p + F.FIRST_FIN_TS] = flow.firstFinTsUs >= 0 ? flow.firstFinTsUs : NaN;
  a[p + F.IDLE_BEFORE_FIN] = flow.firstFinTsUs >= 0 && flow.idleBeforeFinUs >= 0 ? flow.idleBeforeFinUs : NaN;
  let acked = false;
  let peerFin = false;
  if (flow.firstFinBy !== ROLE_NONE) {
    acked = (flow.firstFinBy === ROLE_ORIG ? o : r).finAcked;
    peerFin = (flow.firstFinBy === ROLE_ORIG ? r : o).finSent;
  }
  a[p + F.FIRST_FIN_ACKED] = acked ? 1 : 0;
  a[p + F.PEER_FIN_SENT] = peerFin ? 1 : 0;
  a[p + F.FIRST_RST_BY] = b.text(role(flow.firstRstBy));
  const kind = classifyClose(flow, only);
  a[p + F.CLOSE_KIND] = b.text(kind);
  a[p + F.FINISHED] = final && isFinished(flow) ? 1 : 0;
  a[p + F.CAPTURED_ONLY] = b.text(role(only));
  a[p + F.ORIG_STATE_INFERRED] = origState !== ST_UNKNOWN && (!o.anyPacket || o.finInferred) ? 1 : 0;
  a[p + F.RESP_STATE_INFERRED] = respState !== ST_UNKNOWN && (!r.anyPacket || r.finInferred) ? 1 : 0;
  a[p + F.CLOSE_KIND_INFERRED] = kind !== 'unknown' && (only !== ROLE_NONE || o.finInferred || r.finInferred) ? 1 : 0;
  a[p + F.VANTAGE] = b.text(VANTAGE_NAMES[vantageOf(flow)]);
  a[p + F.RTT_TO_ORIG] = flow.rttOrigUs >= 0 ? flow.rttOrigUs : NaN;
  a[p + F.RTT_TO_RESP] = flow.rttRespUs >= 0 ? flow.rttRespUs : NaN;
  if (flow.communityId === null) {
    flow.communityId =
      flow.ipVersion === 4
        ? communityId4(flow.origAddr4, flow.origPort, flow.respAddr4, flow.respPort)
        : communityId6(flow.origAddr6 as Uint32Array, flow.origPort, flow.respAddr6 as Uint32Array, flow.respPort);
  }
  a[p + F.COMMUNITY_ID] = b.freshText(flow.communityId);
  pushAnomalies(b, flow.anomalies, flow.anomalies === null ? 0 : flow.anomalies.size);
  const at = b.length;
  b.reserve(1);
  b.push(0);
  const n = visitTransitions(flow.transitionLog, flow.firstTsUs, (tsUs, isOrig, from, to, cause) => {
    b.reserve(5);
    pushTransition(b, tsUs, isOrig, b.stateText(from), b.stateText(to), b.causeText(cause));
  });
  let extra = 0;
  if (origUnknownAt >= 0) extra += pushUnknown(b, origUnknownAt, true, o.state);
  if (respUnknownAt >= 0) extra += pushUnknown(b, respUnknownAt, false, r.state);
  b.nums[at] = n + extra;
  pushOwners(b, undefined);
  encodeAppFacts(flow, b, final);
}

/** Scratch batch for buildFlowRecord (emptied on each call). */
const scratch = new FlowBatchBuilder();

/** The FlowRecord for a flow as it stands (one object per flow, not per packet). */
export function buildFlowRecord(flow: TcpFlow, final: boolean): FlowRecord {
  scratch.clear();
  encodeFlow(flow, final, scratch);
  return decodeFlowRecord(scratch.nums, 0, scratch.texts);
}
