import { DecodedPacket, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/decoded-packet';
import { ROLE_NONE, ROLE_RESP, type TcpFlow } from '../tcp/tcp-flow';
import { AppFlow } from './app-flow';
import { freezeHttpFacts } from './frozen-http-facts';
import { pushHttpFacts, type FactsBuilder } from './http-batch';

/** Kept in TcpFlow.app once a flow is known to be neither HTTP nor TLS: nothing more is read. */
export const NOT_APP = new AppFlow();

/**
 * AppFlows of flows written out, for reuse: a flow's AppFlow lives as long
 * as the connection, so making a new one per flow left old-generation garbage
 * for the collector (measured: most of the parser's cost on the benchmark).
 */
const free: AppFlow[] = [];
const MAX_FREE = 4096;
/** AppFlows held by flows now. */
let inUse = 0;

/** The flow is written out for good, its facts are final, or it was found not to be HTTP: its AppFlow may serve another flow. */
export function releaseAppFlow(app: AppFlow): void {
  app.release();
  if (app === NOT_APP) return;
  inUse--;
  if (free.length >= MAX_FREE) return;
  app.reset();
  free.push(app);
}

/** AppFlows held by flows now, across every engine of the process (tests). */
export function appFlowsInUse(): number {
  return inUse;
}

/**
 * The TCP engine's one call into the application layer, after it has
 * processed a segment with payload or a FIN (tcp-engine.ts). The segment's
 * bytes are lent as an offset and length into the packet buffer (valid only
 * during this call). A flow gets its AppFlow on its first payload segment.
 */
export function appSegment(flow: TcpFlow, fromOrig: boolean, pkt: DecodedPacket, buf: Uint8Array, tsUs: number): void {
  let app = flow.app;
  const flags = pkt.flags;
  if (app === NOT_APP || (flags & TCP_RST) !== 0) return;
  const len = pkt.payloadLen;
  if (app === null) {
    if (len === 0) return;
    app = flow.app = free.pop() ?? new AppFlow();
    inUse++;
  }
  if (len > 0) {
    const seq = ((flags & TCP_SYN) !== 0 ? pkt.seq + 1 : pkt.seq) >>> 0;
    // Where the direction's bytes begin: after its SYN when that was seen (only asked on its first payload).
    let firstSeq = seq;
    if (!app.started(fromOrig)) {
      const ep = fromOrig ? flow.orig : flow.resp;
      if (ep.synSent) firstSeq = (ep.isn + 1) >>> 0;
    }
    app.segment(fromOrig, seq, firstSeq, buf, pkt.payloadOff, pkt.reassembled ? 0 : pkt.capturedPayloadLen, len, tsUs);
    if (app.dead) {
      releaseAppFlow(app);
      flow.app = NOT_APP;
      return;
    }
  }
  if ((flags & TCP_FIN) !== 0) {
    app.fin(fromOrig, pkt.ack >>> 0);
    const o = flow.orig;
    const r = flow.resp;
    // Both FINs are in and every byte before them was read: the facts are final, the parser can go back to the pool.
    if (o.finSent && r.finSent && !o.finInferred && !r.finInferred && app.settled(o.finSeq, r.finSeq)) {
      flow.httpFacts = freezeHttpFacts(app, flow.firstFinBy === ROLE_RESP, flow.firstFinTsUs, bareRstTsUs(flow));
      releaseAppFlow(app);
      flow.app = NOT_APP;
    }
  }
}

/**
 * The responder's RST as the close signal of a keepalive_race: its time
 * when the responder sent no FIN and no FIN of the originator came before
 * the RST; -1 otherwise.
 */
function bareRstTsUs(flow: TcpFlow): number {
  const bare = flow.firstRstBy === ROLE_RESP && !flow.resp.finSent && (flow.firstFinBy === ROLE_NONE || flow.firstFinTsUs > flow.firstRstTsUs);
  return bare ? flow.firstRstTsUs : -1;
}

/** Append the flow's HTTP facts part to a batch (the empty part when it had none); `final`: the flow is written out for good. */
export function encodeAppFacts(flow: TcpFlow, b: FactsBuilder, final: boolean): void {
  const frozen = flow.httpFacts;
  if (frozen !== null) {
    frozen.pushTo(b);
    if (final) flow.httpFacts = null;
    return;
  }
  const app = flow.app;
  if (app === null || app === NOT_APP) {
    pushHttpFacts(b, null);
    return;
  }
  app.encode(b, flow.firstFinBy === ROLE_RESP, flow.firstFinTsUs, bareRstTsUs(flow));
  if (final) releaseAppFlow(app);
}
