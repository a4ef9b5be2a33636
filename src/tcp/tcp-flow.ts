import type { AppFlow } from '../app/app-flow';
import type { FrozenHttpFacts } from '../app/frozen-http-facts';
import { SlotPool } from './number-slots';
import type { KeyedFlow } from '../flow/flow-table';
import { TcpEndpoint } from './tcp-endpoint';
import { ST_CLOSED, ST_ESTABLISHED, ST_TIME_WAIT } from './tcp-state-codes';
import { logTransition } from './transition-log';

/** Role codes for close-analysis fields. */
export const ROLE_NONE = 0;
export const ROLE_ORIG = 1;
export const ROLE_RESP = 2;

/** History bits for letters recorded once per direction (resp bits are << 16). */
export const H_SYN = 1 << 0;
export const H_FIN = 1 << 1;
export const H_RST = 1 << 2;
export const H_DATA = 1 << 3;
export const H_ACK = 1 << 4;
export const H_FIN_RST = 1 << 5;
export const H_MULTI = 1 << 6;

/** Lower-case history letter (responder) without allocating a string. */
function lowerLetter(upper: string): string {
  switch (upper) {
    case 'S': return 's';
    case 'H': return 'h';
    case 'A': return 'a';
    case 'D': return 'd';
    case 'F': return 'f';
    case 'R': return 'r';
    case 'T': return 't';
    case 'G': return 'g';
    case 'W': return 'w';
    case 'I': return 'i';
    case 'Q': return 'q';
    default: return upper.toLowerCase();
  }
}

/** Initial values of the slot-held numbers, in slot order. */
const FLOW_INIT: readonly number[] = [0, 0, -1, -1, -1, -1, -1, -1, Number.POSITIVE_INFINITY, 0, 0, ROLE_NONE, ROLE_NONE, -1, -1, -1, -1];
/** Blocks of 17 values, one per object (number-slots.ts). */
const FLOW_SLOTS = new SlotPool(FLOW_INIT);

/**
 * One TCP connection: key fields, the two endpoints and the per-flow facts
 * the close analysis and Zeek history need. Created once per connection.
 */
export class TcpFlow implements KeyedFlow {
  /** Base of this flow's block in FLOW_SLOTS (the times, uid, histSeen and roles below are accessors into it); given back by releaseSlots. */
  readonly slot = FLOW_SLOTS.take();

  /** The boolean facts below (midstream ... dirty), one bit each behind accessors (see TcpEndpoint.flagBits). */
  flagBits = 64;

  ipVersion: 4 | 6 = 4;
  origAddr4 = 0;
  respAddr4 = 0;
  origAddr6: Uint32Array | null = null;
  respAddr6: Uint32Array | null = null;
  origPort = 0;
  respPort = 0;
  bucketHash = 0;
  nextInBucket: KeyedFlow | null = null;

  readonly orig = new TcpEndpoint();
  readonly resp = new TcpEndpoint();

  get uid(): number {
    return FLOW_SLOTS.array[this.slot + 9];
  }
  set uid(v: number) {
    FLOW_SLOTS.array[this.slot + 9] = v;
  }
  get firstTsUs(): number {
    return FLOW_SLOTS.array[this.slot + 0];
  }
  set firstTsUs(v: number) {
    FLOW_SLOTS.array[this.slot + 0] = v;
  }
  get lastTsUs(): number {
    return FLOW_SLOTS.array[this.slot + 1];
  }
  set lastTsUs(v: number) {
    FLOW_SLOTS.array[this.slot + 1] = v;
  }
  get midstream(): boolean {
    return (this.flagBits & 1) !== 0;
  }
  set midstream(v: boolean) {
    this.flagBits = v ? this.flagBits | 1 : this.flagBits & ~1;
  }

  /** Zeek history string and the once-per-direction bits. */
  history = '';
  get histSeen(): number {
    return FLOW_SLOTS.array[this.slot + 10];
  }
  set histSeen(v: number) {
    FLOW_SLOTS.array[this.slot + 10] = v;
  }

  /** Transitions so far, compact (transition-log.ts; offsets from firstTsUs). */
  transitionLog: number[] = [];
  anomalies: Map<string, number> | null = null;

  /** When both sides first reached ESTABLISHED (or the mid-stream pickup), -1 before. */
  get establishedTsUs(): number {
    return FLOW_SLOTS.array[this.slot + 2];
  }
  set establishedTsUs(v: number) {
    FLOW_SLOTS.array[this.slot + 2] = v;
  }
  /** Last segment carrying payload (keep-alive probes excluded), either direction. */
  get lastPayloadTsUs(): number {
    return FLOW_SLOTS.array[this.slot + 3];
  }
  set lastPayloadTsUs(v: number) {
    FLOW_SLOTS.array[this.slot + 3] = v;
  }

  get firstFinBy(): number {
    return FLOW_SLOTS.array[this.slot + 11];
  }
  set firstFinBy(v: number) {
    FLOW_SLOTS.array[this.slot + 11] = v;
  }
  get firstFinTsUs(): number {
    return FLOW_SLOTS.array[this.slot + 4];
  }
  set firstFinTsUs(v: number) {
    FLOW_SLOTS.array[this.slot + 4] = v;
  }
  /** Idle time before the first FIN, -1 when unknown (process-segment.ts sendFin). */
  get idleBeforeFinUs(): number {
    return FLOW_SLOTS.array[this.slot + 5];
  }
  set idleBeforeFinUs(v: number) {
    FLOW_SLOTS.array[this.slot + 5] = v;
  }
  get firstRstBy(): number {
    return FLOW_SLOTS.array[this.slot + 12];
  }
  set firstRstBy(v: number) {
    FLOW_SLOTS.array[this.slot + 12] = v;
  }
  get firstRstTsUs(): number {
    return FLOW_SLOTS.array[this.slot + 6];
  }
  set firstRstTsUs(v: number) {
    FLOW_SLOTS.array[this.slot + 6] = v;
  }
  /** The first RST answered the originator's SYN (connection refused). */
  get refused(): boolean {
    return (this.flagBits & 2) !== 0;
  }
  set refused(v: boolean) {
    this.flagBits = v ? this.flagBits | 2 : this.flagBits & ~2;
  }
  /** The peer of the first FIN's sender sent new payload after that FIN (wrote into the half-closed connection). */
  get dataIntoHalfClosed(): boolean {
    return (this.flagBits & 4) !== 0;
  }
  set dataIntoHalfClosed(v: boolean) {
    this.flagBits = v ? this.flagBits | 4 : this.flagBits & ~4;
  }
  /**
   * The first RST came from the first FIN's sender, after that FIN, while its
   * peer had not sent a FIN or had written into the half-closed connection.
   */
  get rstAfterHalfClose(): boolean {
    return (this.flagBits & 8) !== 0;
  }
  set rstAfterHalfClose(v: boolean) {
    this.flagBits = v ? this.flagBits | 8 : this.flagBits & ~8;
  }
  /** Both FINs had been sent and acknowledged before the first RST. */
  get closedBeforeRst(): boolean {
    return (this.flagBits & 16) !== 0;
  }
  set closedBeforeRst(v: boolean) {
    this.flagBits = v ? this.flagBits | 16 : this.flagBits & ~16;
  }

  /**
   * Handshake timing (vantage.ts): the SYN's and the SYN+ACK's times (-1 not
   * seen yet), and the two half-RTTs measured from the capture point: to the
   * responder and back (SYN -> SYN+ACK) and to the originator and back
   * (SYN+ACK -> ACK). -1 not measured yet, -2 never (no handshake, or a
   * retransmitted SYN / SYN+ACK made it ambiguous).
   */
  get hsSynUs(): number {
    return FLOW_SLOTS.array[this.slot + 13];
  }
  set hsSynUs(v: number) {
    FLOW_SLOTS.array[this.slot + 13] = v;
  }
  get hsSynAckUs(): number {
    return FLOW_SLOTS.array[this.slot + 14];
  }
  set hsSynAckUs(v: number) {
    FLOW_SLOTS.array[this.slot + 14] = v;
  }
  get rttRespUs(): number {
    return FLOW_SLOTS.array[this.slot + 15];
  }
  set rttRespUs(v: number) {
    FLOW_SLOTS.array[this.slot + 15] = v;
  }
  get rttOrigUs(): number {
    return FLOW_SLOTS.array[this.slot + 16];
  }
  set rttOrigUs(v: number) {
    FLOW_SLOTS.array[this.slot + 16] = v;
  }

  /** Time both endpoints became CLOSED, -1 otherwise. */
  get closedAtUs(): number {
    return FLOW_SLOTS.array[this.slot + 7];
  }
  set closedAtUs(v: number) {
    FLOW_SLOTS.array[this.slot + 7] = v;
  }
  /** Deadline of this flow's one valid timer entry (tcp-engine.ts). */
  get timerDeadline(): number {
    return FLOW_SLOTS.array[this.slot + 8];
  }
  set timerDeadline(v: number) {
    FLOW_SLOTS.array[this.slot + 8] = v;
  }
  get removed(): boolean {
    return (this.flagBits & 32) !== 0;
  }
  set removed(v: boolean) {
    this.flagBits = v ? this.flagBits | 32 : this.flagBits & ~32;
  }
  /** Changed (packet or timer state change) since the last engine snapshot; a new flow starts changed (tcp-engine.ts). */
  get dirty(): boolean {
    return (this.flagBits & 64) !== 0;
  }
  set dirty(v: boolean) {
    this.flagBits = v ? this.flagBits | 64 : this.flagBits & ~64;
  }
  /** Intrusive list of active flows in creation order (tcp-engine.ts). */
  listPrev: TcpFlow | null = null;
  listNext: TcpFlow | null = null;
  /** Application-layer state (src/app/app-hook.ts): null before the first payload, NOT_APP when not HTTP/TLS. */
  app: AppFlow | null = null;
  /** The HTTP facts once final (both FINs in, every byte before them read); `app` is NOT_APP then (app-hook.ts). */
  httpFacts: FrozenHttpFacts | null = null;
  /** Cached text addresses, made on first write-out. */
  origText: string | null = null;
  respText: string | null = null;
  /** Community ID v1 (src/flow/community-id.ts), made on first write-out. */
  communityId: string | null = null;

  /** Give back the number blocks of the flow and its endpoints; the flow must not be used afterwards (tcp-engine.ts emit). */
  releaseSlots(): void {
    this.orig.releaseSlot();
    this.resp.releaseSlot();
    FLOW_SLOTS.release(this.slot);
  }

  endpoint(isOrig: boolean): TcpEndpoint {
    return isOrig ? this.orig : this.resp;
  }

  /** The one place every state change goes through. */
  setState(isOrig: boolean, to: number, tsUs: number, cause: string): void {
    const ep = isOrig ? this.orig : this.resp;
    if (ep.state === to) return;
    logTransition(this.transitionLog, this.firstTsUs, isOrig, to, tsUs, cause);
    ep.state = to;
    ep.sinceUs = tsUs;
    if (to === ST_ESTABLISHED) {
      ep.everEstablished = true;
      if (this.establishedTsUs < 0 && this.orig.everEstablished && this.resp.everEstablished) this.establishedTsUs = tsUs;
    }
    if (to === ST_TIME_WAIT) ep.timeWaitStartUs = tsUs;
    if (this.orig.state === ST_CLOSED && this.resp.state === ST_CLOSED && this.closedAtUs < 0) this.closedAtUs = tsUs;
  }

  addHistory(isOrig: boolean, upper: string): void {
    this.history += isOrig ? upper : lowerLetter(upper);
  }

  /** Zeek's CheckHistory: records the letter the first time; true when it was already seen. */
  checkHistory(isOrig: boolean, bit: number, upper: string): boolean {
    const mask = isOrig ? bit : bit << 16;
    if ((this.histSeen & mask) === 0) {
      this.histSeen |= mask;
      this.addHistory(isOrig, upper);
      return false;
    }
    return true;
  }

  anomaly(name: string): void {
    if (this.anomalies === null) this.anomalies = new Map();
    this.anomalies.set(name, (this.anomalies.get(name) ?? 0) + 1);
  }
}
