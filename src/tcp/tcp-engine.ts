import { appSegment } from '../app/app-hook';
import { DecodedPacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/decoded-packet';
import { DeadlineHeap } from '../flow/deadline-heap';
import { DIR_FROM_ORIG, FlowTable } from '../flow/flow-table';
import { firstPacketSenderIsOrig } from '../flow/originator-guess';
import { impliedSynBeforeRefusal, isRefusalRst } from './process-segment';
import type { FlowRecord } from './flow-record';
import type { FlowBatchBuilder } from './flow-batch';
import { buildFlowRecord, encodeFlow } from './flow-record-builder';
import { LOSS_ACKED, LOSS_GAP, processSegment } from './process-segment';
import { ROLE_NONE, TcpFlow } from './tcp-flow';
import {
  ST_CLOSED,
  ST_CLOSE_WAIT,
  ST_CLOSING,
  ST_ESTABLISHED,
  ST_FIN_WAIT_1,
  ST_FIN_WAIT_2,
  ST_LAST_ACK,
  ST_SYN_SENT,
  ST_TIME_WAIT,
  ST_UNKNOWN,
  Z_CLOSED,
  Z_RESET,
} from './tcp-state-codes';
import type { TcpEndpoint } from './tcp-endpoint';

export interface EngineOptions {
  /** Called once per flow when it is finished/evicted, and for every remaining flow at finish(). */
  onFlow?: (flow: FlowRecord) => void;
  /**
   * Instead of onFlow (no FlowRecord objects made): each such flow is
   * appended to `batch` (flow-batch.ts), then `onEncoded` is called, e.g.
   * to hand the batch to the database writer once it is large enough.
   */
  encodeInto?: { batch: FlowBatchBuilder; onEncoded: () => void };
  /** 2*MSL, default 60_000_000 (Linux). */
  timeWaitUs?: number;
  /**
   * Inactivity timeout for unfinished flows, default 2 h; a timed-out flow is
   * emitted with its states as they are. Flows with an endpoint in FIN_WAIT_1,
   * FIN_WAIT_2, CLOSE_WAIT, CLOSING or LAST_ACK are exempt (held until they
   * close, are reset, or the input ends).
   */
  idleTimeoutUs?: number;
  /**
   * How long a flow whose endpoints are both CLOSED is kept (in packet time)
   * to absorb stragglers (segments in flight when the RST was sent, duplicate
   * RSTs) before it is emitted. Default 2 s.
   */
  closedLingerUs?: number;
  /**
   * An unanswered connection attempt (originator SYN_SENT, nothing ever from
   * the responder) is emitted once no packet was seen for this long, so SYN
   * scans do not pile up for the whole idle timeout. Default 180 s: longer
   * than Linux keeps retrying a SYN (tcp_syn_retries 6, about 127 s), so a
   * late SYN+ACK cannot be split from its SYN.
   */
  attemptTimeoutUs?: number;
  /**
   * Read application-layer facts (HTTP/1.x heads, TLS SNI; src/app/) from
   * the payload of segments given with their packet buffer (packet()'s
   * `buf`). Default false.
   */
  app?: boolean;
}

export interface SnapshotOptions {
  /**
   * Only flows that changed since the previous snapshot (a packet, or a
   * TIME_WAIT that expired); a flow created since then counts as changed.
   * Default false: every active flow.
   */
  changedOnly?: boolean;
  /**
   * With changedOnly: build at most this many records, the oldest changes
   * first; the later ones stay logged for the next call (changedFlows). A
   * live capture spreads a large snapshot over several event-loop turns so
   * that libpcap's ring is drained in between.
   */
  limit?: number;
}

const SYN_ONLY_MASK = TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN;

/** How many idle-evicted flows' roles are remembered (TcpEngine.evictedRoles). */
const MAX_EVICTED_ROLES = 4096;

function evictedKey4(origAddr: number, origPort: number, respAddr: number, respPort: number): string {
  return `${origAddr >>> 0}:${origPort}>${respAddr >>> 0}:${respPort}`;
}

function evictedKey6(origAddr: Uint32Array, origPort: number, respAddr: Uint32Array, respPort: number): string {
  return `${origAddr.join('.')}:${origPort}>${respAddr.join('.')}:${respPort}`;
}

/** The endpoint was seen to send a FIN or an RST (Zeek's endpoint states CLOSED / RESET). */
function sentFinOrRst(ep: TcpEndpoint): boolean {
  return ep.zstate === Z_CLOSED || ep.zstate === Z_RESET;
}

/** Time of the first FIN or RST (either side), -1 when none. */
function closeStartUs(flow: TcpFlow): number {
  const fin = flow.firstFinTsUs;
  const rst = flow.firstRstTsUs;
  if (fin < 0) return rst;
  return rst < 0 || fin < rst ? fin : rst;
}

function isOver(state: number): boolean {
  return state === ST_CLOSED || state === ST_TIME_WAIT || state === ST_UNKNOWN;
}

/**
 * A FIN was sent or received and the close has not finished. Such flows are
 * never idle-evicted: a half-closed socket held by its application has no
 * kernel timeout (CLOSE_WAIT lasts until the application closes), a stuck
 * close is what the tool exists to report, and a later FIN or RST on the
 * 4-tuple must land in the same flow (e.g. reset_after_half_close hours
 * later). Their number, not the file size, bounds the memory they take.
 */
function isHalfClosed(state: number): boolean {
  return (
    state === ST_FIN_WAIT_1 ||
    state === ST_FIN_WAIT_2 ||
    state === ST_CLOSE_WAIT ||
    state === ST_CLOSING ||
    state === ST_LAST_ACK
  );
}

/**
 * The TCP engine: finds the flow of each decoded segment, feeds it to the
 * per-endpoint state machine, and emits a FlowRecord when the flow is done.
 *
 * Memory follows concurrently active flows: a flow is removed when both
 * endpoints are CLOSED (after a short linger), when its TIME_WAIT ends
 * (2*MSL in packet time), when it is idle longer than idleTimeoutUs (an
 * unanswered SYN: attemptTimeoutUs; half-closed flows are exempt), or when
 * a new SYN reuses its 4-tuple. A packet after an idle eviction starts a
 * mid-stream flow that keeps the evicted flow's roles (remembered, bounded).
 * Expiry is checked through a deadline heap (TIME_WAIT and linger) and a
 * sweep over the active list every min(attemptTimeout/4, 60 s) of packet
 * time (idle and unanswered-attempt timeouts); nothing scans per packet.
 * Without packets (live capture on a quiet wire), advance(nowUs) runs the
 * same expiry.
 */
export class TcpEngine {
  private readonly onFlow: ((flow: FlowRecord) => void) | null;
  private readonly encodeInto: { batch: FlowBatchBuilder; onEncoded: () => void } | null;
  private readonly timeWaitUs: number;
  private readonly idleTimeoutUs: number;
  private readonly lingerUs: number;
  private readonly attemptTimeoutUs: number;
  private readonly sweepEveryUs: number;
  private readonly app: boolean;
  private readonly table = new FlowTable<TcpFlow>();
  private readonly heap = new DeadlineHeap<TcpFlow>();
  private listHead: TcpFlow | null = null;
  private listTail: TcpFlow | null = null;
  private created = 0;
  private nextSweepUs = Number.NEGATIVE_INFINITY;
  private createdFromOrig = true;
  /**
   * Flows marked changed since the last snapshot, so a changed-only snapshot
   * costs what changed rather than a walk over every held flow. Kept only
   * once snapshot() was called (file ingest never does, so it holds nothing);
   * slots are reused, entries of flows emitted meanwhile are skipped.
   */
  private changeLog: (TcpFlow | null)[] = [];
  private changeCount = 0;
  private trackChanges = false;
  /** Endpoints in CLOSE_WAIT among the held flows, kept per packet / emission. */
  private closeWaitCount = 0;
  /**
   * Roles of flows that had a SYN and were evicted by the idle timeout, keyed
   * orig -> resp (evictedKey), so a later non-SYN packet on the 4-tuple starts
   * the mid-stream flow with the same originator instead of the port guess.
   * Bounded (oldest dropped); looked up when a flow is created. The value is
   * the flow table's (direction-independent) hash of the 4-tuple, counted in
   * evictedHashes, so that a creation on a 4-tuple never evicted costs one
   * numeric lookup instead of making two string keys.
   */
  private readonly evictedRoles = new Map<string, number>();
  private readonly evictedHashes = new Map<number, number>();
  /** Capture-loss tally (process-segment.ts LOSS_ACKED, LOSS_GAP), since the engine was made. */
  private readonly loss = new Float64Array(2);

  constructor(opts: EngineOptions) {
    this.onFlow = opts.onFlow ?? null;
    this.encodeInto = opts.encodeInto ?? null;
    if ((this.onFlow === null) === (this.encodeInto === null)) throw new Error('TcpEngine: give exactly one of onFlow and encodeInto');
    this.timeWaitUs = opts.timeWaitUs ?? 60_000_000;
    this.idleTimeoutUs = opts.idleTimeoutUs ?? 7_200_000_000;
    this.lingerUs = opts.closedLingerUs ?? 2_000_000;
    this.attemptTimeoutUs = Math.min(opts.attemptTimeoutUs ?? 180_000_000, this.idleTimeoutUs);
    this.sweepEveryUs = Math.max(1, Math.min(Math.floor(this.attemptTimeoutUs / 4), 60_000_000));
    this.app = opts.app === true;
  }

  /** Flows currently held in memory. */
  get activeFlows(): number {
    return this.table.size;
  }

  /** Flows created so far. */
  get totalFlows(): number {
    return this.created;
  }

  /**
   * Feed one decoded TCP segment (pkt.tcp is true). `buf`: the packet buffer
   * pkt.payloadOff points into, lent for this call (application-layer facts,
   * EngineOptions.app).
   */
  packet(pkt: DecodedPacket, tsUs: number, buf: Uint8Array | null = null): void {
    if (!pkt.tcp || (pkt.ipVersion !== 4 && pkt.ipVersion !== 6)) return;
    if (tsUs >= this.heap.peekDeadline()) this.runTimers(tsUs);
    if (tsUs >= this.nextSweepUs) this.sweepIdle(tsUs);

    let flow =
      pkt.ipVersion === 4
        ? this.table.find4(pkt.src4 >>> 0, pkt.srcPort, pkt.dst4 >>> 0, pkt.dstPort)
        : this.table.find6(pkt.src6, pkt.srcPort, pkt.dst6, pkt.dstPort);
    let fromOrig = this.table.lastDir === DIR_FROM_ORIG;
    const hash = this.table.lastHash;
    if (flow !== null && this.startsNewConnection(flow, pkt, fromOrig, tsUs)) {
      if (flow.orig.state === ST_TIME_WAIT) flow.setState(true, ST_CLOSED, tsUs, 'reused by new SYN');
      if (flow.resp.state === ST_TIME_WAIT) flow.setState(false, ST_CLOSED, tsUs, 'reused by new SYN');
      this.emit(flow);
      flow = null;
    }
    if (flow === null) {
      flow = this.create(pkt, tsUs, hash);
      fromOrig = this.createdFromOrig;
    }
    const cwBefore = (flow.orig.state === ST_CLOSE_WAIT ? 1 : 0) + (flow.resp.state === ST_CLOSE_WAIT ? 1 : 0);
    processSegment(flow, pkt, tsUs, fromOrig, this.loss);
    if (this.app && buf !== null && (pkt.payloadLen > 0 || (pkt.flags & TCP_FIN) !== 0)) appSegment(flow, fromOrig, pkt, buf, tsUs);
    this.closeWaitCount += (flow.orig.state === ST_CLOSE_WAIT ? 1 : 0) + (flow.resp.state === ST_CLOSE_WAIT ? 1 : 0) - cwBefore;
    if (!flow.dirty) this.markChanged(flow);
    this.schedule(flow);
  }

  /**
   * Let time pass to nowUs without a packet: the same expiry a packet at
   * nowUs would run (TIME_WAIT past 2*MSL, both-CLOSED linger, idle and
   * unanswered-attempt timeouts), emitting the flows that are over. Live
   * capture calls it at every flush so finished flows leave memory and reach
   * the database even when the wire is silent. A nowUs earlier than what the
   * engine has already seen does nothing harmful (nothing is due yet).
   */
  advance(nowUs: number): void {
    if (nowUs >= this.heap.peekDeadline()) this.runTimers(nowUs);
    if (nowUs >= this.nextSweepUs) this.sweepIdle(nowUs);
  }

  /**
   * Capture-loss counts so far, as Zeek's capture-loss script takes them:
   * bytes acknowledged while both endpoints were established, and the
   * acknowledged bytes among them the capture never showed (payload cut by
   * the snaplen left out). A live caller takes differences between flushes.
   */
  lossCounts(): { ackedBytes: number; gapBytes: number } {
    return { ackedBytes: this.loss[LOSS_ACKED], gapBytes: this.loss[LOSS_GAP] };
  }

  /** Changes logged for the next changedOnly snapshot (at most one per flow; a flow finished since is skipped then). */
  get changedFlows(): number {
    return this.changeCount;
  }

  /** Endpoints in CLOSE_WAIT among the active flows now (a counter, no walk). */
  closeWaitEndpoints(): number {
    return this.closeWaitCount;
  }

  /** End of input at time endUs: expire due TIME_WAITs, emit every remaining flow (creation order). */
  finish(endUs: number): void {
    let f = this.listHead;
    while (f !== null) {
      const next = f.listNext;
      this.expireTimeWait(f, endUs);
      this.emit(f);
      f = next;
    }
    this.heap.clear();
    this.table.clear();
    this.evictedRoles.clear();
    this.evictedHashes.clear();
    this.closeWaitCount = 0;
    this.listHead = this.listTail = null;
    for (let i = 0; i < this.changeCount; i++) this.changeLog[i] = null;
    this.changeCount = 0;
  }

  /**
   * Live use: records of the active flows as of nowUs, without removing them
   * (finished=false). The full snapshot (default) walks every active flow in
   * creation order; a TIME_WAIT older than 2*MSL at nowUs is reported CLOSED
   * ('2MSL expired' at since + 2*MSL) and the flow is emitted by the next
   * advance(), packet or finish().
   *
   * Every snapshot clears the flows' "changed" marks. With
   * `{ changedOnly: true }` only the flows changed since the previous
   * snapshot are built (a packet, a new flow, or a TIME_WAIT expired by
   * advance()), in the order they changed, without walking the others: a
   * live flush costs what changed, not what is held (e.g. 60 s of TIME_WAIT
   * flows). Call advance(nowUs) first so timer-driven changes are in it.
   */
  snapshot(nowUs: number, opts: SnapshotOptions = {}): FlowRecord[] {
    const out: FlowRecord[] = [];
    this.snapshotEach(nowUs, opts, (f) => out.push(buildFlowRecord(f, false)));
    return out;
  }

  /**
   * snapshot() straight into a batch (flow-batch.ts): the same flows, encoded
   * as the writer takes them, with no FlowRecord object made (a live capture's
   * flush). Returns how many were appended.
   */
  snapshotInto(nowUs: number, opts: SnapshotOptions, batch: FlowBatchBuilder): number {
    const before = batch.count;
    this.snapshotEach(nowUs, opts, (f) => encodeFlow(f, false, batch));
    return batch.count - before;
  }

  /** The flows a snapshot takes, in its order, each handed to `take` (see snapshot()). */
  private snapshotEach(nowUs: number, opts: SnapshotOptions, take: (f: TcpFlow) => void): void {
    if (opts.changedOnly === true && this.trackChanges) {
      const log = this.changeLog;
      const n = opts.limit !== undefined ? Math.min(this.changeCount, Math.max(0, opts.limit)) : this.changeCount;
      for (let i = 0; i < n; i++) {
        const f = log[i] as TcpFlow;
        log[i] = null;
        if (f.removed || !f.dirty) continue;
        this.expireTimeWait(f, nowUs);
        this.schedule(f);
        f.dirty = false;
        take(f);
      }
      if (n < this.changeCount) {
        log.copyWithin(0, n, this.changeCount);
        for (let i = this.changeCount - n; i < this.changeCount; i++) log[i] = null;
      }
      this.changeCount -= n;
      return;
    }
    // Full walk; also the first snapshot of either kind (every flow not yet snapshotted counts as changed).
    const changedOnly = opts.changedOnly === true;
    for (let f = this.listHead; f !== null; f = f.listNext) {
      if (f.orig.state === ST_TIME_WAIT || f.resp.state === ST_TIME_WAIT) {
        this.expireTimeWait(f, nowUs);
        this.schedule(f);
      }
      if (changedOnly && !f.dirty) continue;
      f.dirty = false;
      take(f);
    }
    for (let i = 0; i < this.changeCount; i++) this.changeLog[i] = null;
    this.changeCount = 0;
    this.trackChanges = true;
  }

  // ---------------------------------------------------------------------------

  /**
   * A pure SYN (no ACK/RST/FIN) starts a new connection on the same 4-tuple
   * when either endpoint was seen to send a FIN or an RST, even with the ISN
   * already seen: Zeek's IsReuse compares ISNs only while neither side has
   * closed, so a client retrying a refused port with the identical SYN gives
   * one S/r (REJ) connection per attempt. Otherwise a SYN with the ISN
   * already seen is a retransmission, and one with a new ISN starts a new
   * connection when the old one is over: both endpoints CLOSED, TIME_WAIT
   * (or never seen), or the old flow was picked up mid-stream, or it is an
   * unanswered attempt from the same side. Any other SYN into a live
   * connection is counted as the anomaly 'syn_inside_connection'. A copy of
   * the SYN stamped before the first FIN or RST (the same packet captured on
   * a second interface, written after the first interface's packets) cannot
   * be a retry after the close: it stays a retransmission. So does a SYN
   * repeated by a side that never acknowledged anything while only its peer
   * sent a FIN (its SYN-ACK was lost: TCP Fast Open), a deliberate
   * difference from Zeek.
   */
  private startsNewConnection(flow: TcpFlow, pkt: DecodedPacket, fromOrig: boolean, tsUs: number): boolean {
    if ((pkt.flags & SYN_ONLY_MASK) !== TCP_SYN) return false;
    const x = fromOrig ? flow.orig : flow.resp;
    const y = fromOrig ? flow.resp : flow.orig;
    const seq = pkt.seq >>> 0;
    if ((sentFinOrRst(flow.orig) || sentFinOrRst(flow.resp)) && tsUs >= closeStartUs(flow)) {
      // Except the SYN of a side that never acknowledged anything, repeated while only the peer
      // closed with a FIN: the peer's answer never reached it (TCP Fast Open: a SYN-ACK lost
      // after the server already sent its data and FIN). Zeek would split it off; it is one socket.
      return !(x.synSent && seq === x.isn && !x.ackSeen && !sentFinOrRst(x) && y.zstate === Z_CLOSED);
    }
    if (x.synSent && seq === x.isn) return false;
    if (isOver(flow.orig.state) && isOver(flow.resp.state)) return true;
    if (flow.firstRstBy !== ROLE_NONE) return true;
    if (flow.midstream) return true;
    if (x.state === ST_SYN_SENT && !y.anyPacket) return true;
    return false;
  }

  private create(pkt: DecodedPacket, tsUs: number, hash: number): TcpFlow {
    const f = new TcpFlow();
    f.dirty = false;
    this.markChanged(f);
    f.uid = ++this.created;
    f.firstTsUs = tsUs;
    f.lastTsUs = tsUs;
    const syn = (pkt.flags & TCP_SYN) !== 0;
    const ack = (pkt.flags & TCP_ACK) !== 0;
    let senderIsOrig: boolean;
    const refusal = isRefusalRst(pkt);
    if (syn || refusal) {
      senderIsOrig = syn && !ack;
      this.rolesAfterEviction(pkt, hash); // a new connection: forget the old roles
    } else senderIsOrig = this.rolesAfterEviction(pkt, hash) ?? firstPacketSenderIsOrig(pkt.srcPort, pkt.dstPort);
    f.midstream = !syn && !refusal;
    f.ipVersion = pkt.ipVersion === 6 ? 6 : 4;
    if (f.ipVersion === 4) {
      f.origAddr4 = (senderIsOrig ? pkt.src4 : pkt.dst4) >>> 0;
      f.respAddr4 = (senderIsOrig ? pkt.dst4 : pkt.src4) >>> 0;
    } else {
      f.origAddr6 = new Uint32Array(senderIsOrig ? pkt.src6 : pkt.dst6);
      f.respAddr6 = new Uint32Array(senderIsOrig ? pkt.dst6 : pkt.src6);
    }
    f.origPort = senderIsOrig ? pkt.srcPort : pkt.dstPort;
    f.respPort = senderIsOrig ? pkt.dstPort : pkt.srcPort;
    if (!senderIsOrig) f.history = '^';
    if (f.midstream) {
      f.setState(true, ST_ESTABLISHED, tsUs, 'midstream pickup');
      f.setState(false, ST_ESTABLISHED, tsUs, 'midstream pickup');
    } else if (refusal) {
      impliedSynBeforeRefusal(f, pkt.ack >>> 0, tsUs);
    }
    this.table.insert(f, hash);
    f.listPrev = this.listTail;
    if (this.listTail !== null) this.listTail.listNext = f;
    else this.listHead = f;
    this.listTail = f;
    this.createdFromOrig = senderIsOrig;
    return f;
  }

  /** Earliest time something may happen to this flow without a packet. */
  private nextDeadline(f: TcpFlow): number {
    let d = Number.POSITIVE_INFINITY;
    if (f.orig.state === ST_TIME_WAIT) d = Math.min(d, f.orig.timeWaitStartUs + this.timeWaitUs);
    if (f.resp.state === ST_TIME_WAIT) d = Math.min(d, f.resp.timeWaitStartUs + this.timeWaitUs);
    if (f.closedAtUs >= 0) d = Math.min(d, f.closedAtUs + this.lingerUs);
    return d;
  }

  private schedule(f: TcpFlow): void {
    const d = this.nextDeadline(f);
    if (d < f.timerDeadline) {
      f.timerDeadline = d;
      this.heap.push(d, f);
    }
  }

  private runTimers(nowUs: number): void {
    while (this.heap.size > 0 && this.heap.peekDeadline() <= nowUs) {
      const dl = this.heap.peekDeadline();
      const f = this.heap.pop();
      if (f.removed || dl !== f.timerDeadline) continue; // stale entry
      f.timerDeadline = Number.POSITIVE_INFINITY;
      this.expireTimeWait(f, nowUs);
      if (f.closedAtUs >= 0 && f.closedAtUs + this.lingerUs <= nowUs) this.emit(f);
      else this.schedule(f);
    }
  }

  private sweepIdle(nowUs: number): void {
    this.nextSweepUs = nowUs + this.sweepEveryUs;
    let f = this.listHead;
    while (f !== null) {
      const next = f.listNext;
      const attempt = f.orig.state === ST_SYN_SENT && !f.resp.anyPacket;
      if (
        f.lastTsUs + (attempt ? this.attemptTimeoutUs : this.idleTimeoutUs) <= nowUs &&
        !isHalfClosed(f.orig.state) &&
        !isHalfClosed(f.resp.state)
      ) {
        this.expireTimeWait(f, nowUs);
        if (!f.midstream) this.rememberRoles(f);
        this.emit(f);
      }
      f = next;
    }
  }

  private rememberRoles(f: TcpFlow): void {
    const key =
      f.ipVersion === 4
        ? evictedKey4(f.origAddr4, f.origPort, f.respAddr4, f.respPort)
        : evictedKey6(f.origAddr6 as Uint32Array, f.origPort, f.respAddr6 as Uint32Array, f.respPort);
    if (this.evictedRoles.has(key)) return;
    if (this.evictedRoles.size >= MAX_EVICTED_ROLES) {
      const oldest = this.evictedRoles.keys().next();
      if (oldest.done !== true) this.forgetRoles(oldest.value);
    }
    this.evictedRoles.set(key, f.bucketHash);
    this.evictedHashes.set(f.bucketHash, (this.evictedHashes.get(f.bucketHash) ?? 0) + 1);
  }

  /** Drop a remembered key; true if it was there. */
  private forgetRoles(key: string): boolean {
    const hash = this.evictedRoles.get(key);
    if (hash === undefined) return false;
    this.evictedRoles.delete(key);
    const n = (this.evictedHashes.get(hash) ?? 1) - 1;
    if (n > 0) this.evictedHashes.set(hash, n);
    else this.evictedHashes.delete(hash);
    return true;
  }

  /**
   * true: the packet's sender was the originator of an evicted flow; false: its responder; null: not known.
   * The remembered roles of its 4-tuple are forgotten. `hash`: the packet's flow table hash.
   */
  private rolesAfterEviction(pkt: DecodedPacket, hash: number): boolean | null {
    if (!this.evictedHashes.has(hash)) return null;
    const v4 = pkt.ipVersion === 4;
    const fwd = v4
      ? evictedKey4(pkt.src4 >>> 0, pkt.srcPort, pkt.dst4 >>> 0, pkt.dstPort)
      : evictedKey6(pkt.src6, pkt.srcPort, pkt.dst6, pkt.dstPort);
    if (this.forgetRoles(fwd)) return true;
    const rev = v4
      ? evictedKey4(pkt.dst4 >>> 0, pkt.dstPort, pkt.src4 >>> 0, pkt.srcPort)
      : evictedKey6(pkt.dst6, pkt.dstPort, pkt.src6, pkt.srcPort);
    if (this.forgetRoles(rev)) return false;
    return null;
  }

  /** TIME_WAIT older than 2*MSL becomes CLOSED at start + 2*MSL. */
  private expireTimeWait(f: TcpFlow, nowUs: number): void {
    const tw = this.timeWaitUs;
    if (f.orig.state === ST_TIME_WAIT && f.orig.timeWaitStartUs + tw <= nowUs) {
      f.setState(true, ST_CLOSED, f.orig.timeWaitStartUs + tw, '2MSL expired');
      if (!f.dirty) this.markChanged(f);
    }
    if (f.resp.state === ST_TIME_WAIT && f.resp.timeWaitStartUs + tw <= nowUs) {
      f.setState(false, ST_CLOSED, f.resp.timeWaitStartUs + tw, '2MSL expired');
      if (!f.dirty) this.markChanged(f);
    }
  }

  /** Mark a flow changed since the last snapshot (and log it once snapshots are being taken). */
  private markChanged(f: TcpFlow): void {
    f.dirty = true;
    if (!this.trackChanges) return;
    if (this.changeCount < this.changeLog.length) this.changeLog[this.changeCount] = f;
    else this.changeLog.push(f);
    this.changeCount++;
  }

  private emit(f: TcpFlow): void {
    if (f.removed) return;
    f.removed = true;
    this.closeWaitCount -= (f.orig.state === ST_CLOSE_WAIT ? 1 : 0) + (f.resp.state === ST_CLOSE_WAIT ? 1 : 0);
    this.table.remove(f);
    if (f.listPrev !== null) f.listPrev.listNext = f.listNext;
    else this.listHead = f.listNext;
    if (f.listNext !== null) f.listNext.listPrev = f.listPrev;
    else this.listTail = f.listPrev;
    f.listPrev = f.listNext = null;
    if (this.encodeInto !== null) {
      encodeFlow(f, true, this.encodeInto.batch);
      this.encodeInto.onEncoded();
    } else if (this.onFlow !== null) {
      this.onFlow(buildFlowRecord(f, true));
    }
    // Only the removed mark is read after this (stale heap / change-log entries).
    f.releaseSlots();
  }
}
