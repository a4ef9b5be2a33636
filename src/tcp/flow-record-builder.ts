import { ipv4Text, ipv6Text } from '../flow/address-text';
import type { DirectionStats, FlowRecord } from './flow-record';
import { classifyClose } from './close-kind';
import { seqDiff } from './seq-math';
import { TcpEndpoint } from './tcp-endpoint';
import { ROLE_NONE, ROLE_ORIG, TcpFlow } from './tcp-flow';
import { STATE_NAMES, ST_CLOSED, ST_TIME_WAIT } from './tcp-state-codes';
import { materializeTransitions } from './transition-log';
import { zeekConnState } from './zeek-state';

/** Window scale this side negotiated: its SYN option if the peer's SYN also carried one; -1 otherwise. */
function negotiatedScale(ep: TcpEndpoint, peer: TcpEndpoint): number {
  if (!ep.synSent || ep.wscale < 0) return -1;
  if (peer.synSent && peer.wscale < 0) return -1;
  return ep.wscale;
}

function stats(ep: TcpEndpoint, peer: TcpEndpoint): DirectionStats {
  return {
    packets: ep.packets,
    bytes: ep.bytes,
    ipBytes: ep.ipBytes,
    retransmits: ep.retransmits,
    outOfOrder: ep.outOfOrder,
    keepalives: ep.keepalives,
    zeroWindows: ep.zeroWindows,
    windowScale: negotiatedScale(ep, peer),
    mss: ep.mss,
  };
}

function holeBytes(ep: TcpEndpoint): number {
  const h = ep.holes;
  if (h === null) return 0;
  let n = 0;
  for (let i = 0; i < h.length; i += 2) n += seqDiff(h[i + 1], h[i]);
  return n;
}

export function isFinished(flow: TcpFlow): boolean {
  const o = flow.orig.state;
  const r = flow.resp.state;
  return (o === ST_CLOSED || o === ST_TIME_WAIT) && (r === ST_CLOSED || r === ST_TIME_WAIT);
}

/** The FlowRecord for a flow as it stands (one object per flow, not per packet). */
export function buildFlowRecord(flow: TcpFlow, final: boolean): FlowRecord {
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
  const rec: FlowRecord = {
    uid: flow.uid,
    ipVersion: flow.ipVersion,
    origH: flow.origText,
    origP: flow.origPort,
    respH: flow.respText,
    respP: flow.respPort,
    firstTsUs: flow.firstTsUs,
    lastTsUs: flow.lastTsUs,
    orig: stats(o, r),
    resp: stats(r, o),
    missedBytes: o.missed + r.missed + holeBytes(o) + holeBytes(r),
    history: flow.history,
    connState: zeekConnState(flow),
    midstream: flow.midstream,
    origState: STATE_NAMES[o.state],
    respState: STATE_NAMES[r.state],
    origStateSinceUs: o.sinceUs >= 0 ? o.sinceUs : flow.firstTsUs,
    respStateSinceUs: r.sinceUs >= 0 ? r.sinceUs : flow.firstTsUs,
    firstFinBy: flow.firstFinBy === ROLE_NONE ? null : flow.firstFinBy === ROLE_ORIG ? 'orig' : 'resp',
    firstFinTsUs: flow.firstFinTsUs >= 0 ? flow.firstFinTsUs : null,
    idleBeforeFinUs: flow.firstFinTsUs >= 0 && flow.idleBeforeFinUs >= 0 ? flow.idleBeforeFinUs : null,
    firstFinAcked: false,
    peerFinSent: false,
    firstRstBy: flow.firstRstBy === ROLE_NONE ? null : flow.firstRstBy === ROLE_ORIG ? 'orig' : 'resp',
    closeKind: classifyClose(flow),
    finished: final && isFinished(flow),
    transitions: materializeTransitions(flow.transitionLog, flow.firstTsUs),
  };
  if (flow.firstFinBy !== ROLE_NONE) {
    const f = flow.firstFinBy === ROLE_ORIG ? o : r;
    const p = flow.firstFinBy === ROLE_ORIG ? r : o;
    rec.firstFinAcked = f.finAcked;
    rec.peerFinSent = p.finSent;
  }
  if (flow.anomalies !== null) rec.anomalies = Object.fromEntries(flow.anomalies);
  return rec;
}
