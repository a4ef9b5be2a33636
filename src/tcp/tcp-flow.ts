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

/**
 * One TCP connection: key fields, the two endpoints and the per-flow facts
 * the close analysis and Zeek history need. Created once per connection.
 */
export class TcpFlow implements KeyedFlow {
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

  uid = 0;
  firstTsUs = 0;
  lastTsUs = 0;
  get midstream(): boolean {
    return (this.flagBits & 1) !== 0;
  }
  set midstream(v: boolean) {
    this.flagBits = v ? this.flagBits | 1 : this.flagBits & ~1;
  }

  /** Zeek history string and the once-per-direction bits. */
  history = '';
  histSeen = 0;

  /** Transitions so far, compact (transition-log.ts; offsets from firstTsUs). */
  transitionLog: number[] = [];
  anomalies: Map<string, number> | null = null;

  /** When both sides first reached ESTABLISHED (or the mid-stream pickup), -1 before. */
  establishedTsUs = -1;
  /** Last segment carrying payload (keep-alive probes excluded), either direction. */
  lastPayloadTsUs = -1;

  firstFinBy = ROLE_NONE;
  firstFinTsUs = -1;
  /** Idle time before the first FIN, -1 when unknown (process-segment.ts sendFin). */
  idleBeforeFinUs = -1;
  firstRstBy = ROLE_NONE;
  firstRstTsUs = -1;
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

  /** Time both endpoints became CLOSED, -1 otherwise. */
  closedAtUs = -1;
  /** Deadline of this flow's one valid timer entry (tcp-engine.ts). */
  timerDeadline = Number.POSITIVE_INFINITY;
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
  /** Cached text addresses, made on first write-out. */
  origText: string | null = null;
  respText: string | null = null;

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
