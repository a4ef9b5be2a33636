import { SlotPool } from './number-slots';
import { ST_UNKNOWN, Z_INACTIVE } from './tcp-state-codes';

/** Initial values of the slot-held numbers, in slot order. */
const ENDPOINT_INIT: readonly number[] = [-1, 0, 0, 0, 0, -1, -1, -1, 0, -1, -1, -1, 0, 0, ST_UNKNOWN, Z_INACTIVE, Z_INACTIVE, 0, 0, -1, -1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0];
/** Blocks of 34 values, one per object (number-slots.ts). */
const ENDPOINT_SLOTS = new SlotPool(ENDPOINT_INIT);

/**
 * Everything the engine knows about one side of a TCP connection: its RFC
 * state, the sequence space it sends, what it has acknowledged, and its
 * counters. Two per flow (orig, resp); mutated in place, never per packet.
 */
export class TcpEndpoint {
  /** Base of this endpoint's block in ENDPOINT_SLOTS: the numbers below (times, sequence numbers, codes, counters) are accessors into it. */
  readonly slot = ENDPOINT_SLOTS.take();

  /**
   * The boolean facts below, one bit each behind accessors: an endpoint is
   * held for the whole connection (old generation), and 17 separate fields
   * cost 8 bytes each.
   */
  flagBits = 0;

  /** RFC 9293 state code (tcp-state-codes.ts) and the time of its last change. */
  get state(): number {
    return ENDPOINT_SLOTS.array[this.slot + 14];
  }
  set state(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 14] = v;
  }
  get sinceUs(): number {
    return ENDPOINT_SLOTS.array[this.slot + 0];
  }
  set sinceUs(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 0] = v;
  }
  /** Zeek-style state, only for conn_state. */
  get zstate(): number {
    return ENDPOINT_SLOTS.array[this.slot + 15];
  }
  set zstate(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 15] = v;
  }
  get zprev(): number {
    return ENDPOINT_SLOTS.array[this.slot + 16];
  }
  set zprev(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 16] = v;
  }

  /** Any packet sent by this endpoint seen. */
  get anyPacket(): boolean {
    return (this.flagBits & 1) !== 0;
  }
  set anyPacket(v: boolean) {
    this.flagBits = v ? this.flagBits | 1 : this.flagBits & ~1;
  }
  /** Reached ESTABLISHED at some point. */
  get everEstablished(): boolean {
    return (this.flagBits & 2) !== 0;
  }
  set everEstablished(v: boolean) {
    this.flagBits = v ? this.flagBits | 2 : this.flagBits & ~2;
  }

  // ---- the sequence space this endpoint sends ----
  get seqInit(): boolean {
    return (this.flagBits & 4) !== 0;
  }
  set seqInit(v: boolean) {
    this.flagBits = v ? this.flagBits | 4 : this.flagBits & ~4;
  }
  /** Initial sequence number (seq of the SYN, or first seq - 1 mid-stream). */
  get isn(): number {
    return ENDPOINT_SLOTS.array[this.slot + 1];
  }
  set isn(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 1] = v;
  }
  /** One past the highest sequence number used (data, SYN and FIN included). */
  get nextSeq(): number {
    return ENDPOINT_SLOTS.array[this.slot + 2];
  }
  set nextSeq(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 2] = v;
  }
  /** One past the highest payload byte. */
  get dataEnd(): number {
    return ENDPOINT_SLOTS.array[this.slot + 3];
  }
  set dataEnd(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 3] = v;
  }
  /** Sequence-space holes not yet filled, flat [start, end, start, end, ...]. */
  holes: number[] | null = null;
  /**
   * Payload on the wire but cut off by the snaplen, not yet acknowledged,
   * flat like holes. An ACK over it makes a gap (Zeek hands a segment's data
   * on only when the capture holds all of it) that is not capture loss.
   */
  cuts: number[] | null = null;
  /** Space skipped by a payload-less FIN or ACK ahead of everything seen, not yet acknowledged (process-segment.ts). */
  skips: number[] | null = null;
  /**
   * The sequence space was anchored only by a bare first segment (no SYN,
   * FIN or payload, picked up mid-stream): it may have been a keep-alive
   * probe at SND.NXT - 1, so an ACK one past it proves nothing about a FIN
   * (process-segment.ts). Cleared once payload or an ACK at or past nextSeq
   * confirms the anchor. bareAnchorSegs counts the bare segments at it.
   */
  get bareAnchor(): boolean {
    return (this.flagBits & 8) !== 0;
  }
  set bareAnchor(v: boolean) {
    this.flagBits = v ? this.flagBits | 8 : this.flagBits & ~8;
  }
  get bareAnchorSegs(): number {
    return ENDPOINT_SLOTS.array[this.slot + 17];
  }
  set bareAnchorSegs(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 17] = v;
  }

  get synSent(): boolean {
    return (this.flagBits & 16) !== 0;
  }
  set synSent(v: boolean) {
    this.flagBits = v ? this.flagBits | 16 : this.flagBits & ~16;
  }
  get synAckSent(): boolean {
    return (this.flagBits & 32) !== 0;
  }
  set synAckSent(v: boolean) {
    this.flagBits = v ? this.flagBits | 32 : this.flagBits & ~32;
  }
  /** The peer acknowledged this endpoint's SYN. */
  get synAcked(): boolean {
    return (this.flagBits & 64) !== 0;
  }
  set synAcked(v: boolean) {
    this.flagBits = v ? this.flagBits | 64 : this.flagBits & ~64;
  }
  get finSent(): boolean {
    return (this.flagBits & 128) !== 0;
  }
  set finSent(v: boolean) {
    this.flagBits = v ? this.flagBits | 128 : this.flagBits & ~128;
  }
  /** Sequence number the FIN occupies (seq + payload length of the FIN segment). */
  get finSeq(): number {
    return ENDPOINT_SLOTS.array[this.slot + 4];
  }
  set finSeq(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 4] = v;
  }
  get finTsUs(): number {
    return ENDPOINT_SLOTS.array[this.slot + 5];
  }
  set finTsUs(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 5] = v;
  }
  /** The peer acknowledged finSeq + 1. */
  get finAcked(): boolean {
    return (this.flagBits & 256) !== 0;
  }
  set finAcked(v: boolean) {
    this.flagBits = v ? this.flagBits | 256 : this.flagBits & ~256;
  }
  /**
   * The FIN was not seen but inferred (from an ACK of unseen sequence space);
   * retracted if this endpoint later sends sequence space past it.
   */
  get finInferred(): boolean {
    return (this.flagBits & 512) !== 0;
  }
  set finInferred(v: boolean) {
    this.flagBits = v ? this.flagBits | 512 : this.flagBits & ~512;
  }
  /** Idle time before this endpoint's FIN (see TcpFlow.idleBeforeFinUs), -1 when unknown. */
  get finIdleUs(): number {
    return ENDPOINT_SLOTS.array[this.slot + 6];
  }
  set finIdleUs(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 6] = v;
  }
  /**
   * The peer acknowledged sequence space of this endpoint the capture never
   * showed, up to nextSeq (its stream tail is unseen, FIN status unknown).
   */
  get tailUnseen(): boolean {
    return (this.flagBits & 1024) !== 0;
  }
  set tailUnseen(v: boolean) {
    this.flagBits = v ? this.flagBits | 1024 : this.flagBits & ~1024;
  }
  /** This endpoint has (evidently) received the peer's FIN. */
  get gotPeerFin(): boolean {
    return (this.flagBits & 2048) !== 0;
  }
  set gotPeerFin(v: boolean) {
    this.flagBits = v ? this.flagBits | 2048 : this.flagBits & ~2048;
  }
  get rstSent(): boolean {
    return (this.flagBits & 4096) !== 0;
  }
  set rstSent(v: boolean) {
    this.flagBits = v ? this.flagBits | 4096 : this.flagBits & ~4096;
  }
  /** TIME_WAIT start (restarted by a retransmitted peer FIN). */
  get timeWaitStartUs(): number {
    return ENDPOINT_SLOTS.array[this.slot + 7];
  }
  set timeWaitStartUs(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 7] = v;
  }

  // ---- what this endpoint acknowledges / advertises ----
  get ackSeen(): boolean {
    return (this.flagBits & 8192) !== 0;
  }
  set ackSeen(v: boolean) {
    this.flagBits = v ? this.flagBits | 8192 : this.flagBits & ~8192;
  }
  /** Highest ACK this endpoint sent (its RCV.NXT as far as we know). */
  get highestAck(): number {
    return ENDPOINT_SLOTS.array[this.slot + 8];
  }
  set highestAck(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 8] = v;
  }
  /** Raw window of the last segment it sent, and whether that was a SYN (unscaled). */
  get window(): number {
    return ENDPOINT_SLOTS.array[this.slot + 18];
  }
  set window(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 18] = v;
  }
  get windowKnown(): boolean {
    return (this.flagBits & 16384) !== 0;
  }
  set windowKnown(v: boolean) {
    this.flagBits = v ? this.flagBits | 16384 : this.flagBits & ~16384;
  }
  /** The last window came on a SYN (never scaled). */
  get windowFromSyn(): boolean {
    return (this.flagBits & 32768) !== 0;
  }
  set windowFromSyn(v: boolean) {
    this.flagBits = v ? this.flagBits | 32768 : this.flagBits & ~32768;
  }

  /**
   * Sent a segment with the ACK flag: it acknowledged sequence space of its
   * peer (at least the peer's SYN). With no packet of the peer captured, the
   * capture saw only this endpoint's direction (flow-record-builder.ts).
   */
  get ackFlagSent(): boolean {
    return (this.flagBits & 131072) !== 0;
  }
  set ackFlagSent(v: boolean) {
    this.flagBits = v ? this.flagBits | 131072 : this.flagBits & ~131072;
  }

  // ---- SYN options ----
  get wscale(): number {
    return ENDPOINT_SLOTS.array[this.slot + 19];
  }
  set wscale(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 19] = v;
  }
  get mss(): number {
    return ENDPOINT_SLOTS.array[this.slot + 20];
  }
  set mss(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 20] = v;
  }
  get sackPermitted(): boolean {
    return (this.flagBits & 65536) !== 0;
  }
  set sackPermitted(v: boolean) {
    this.flagBits = v ? this.flagBits | 65536 : this.flagBits & ~65536;
  }

  // ---- counters ----
  get packets(): number {
    return ENDPOINT_SLOTS.array[this.slot + 21];
  }
  set packets(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 21] = v;
  }
  get ipBytes(): number {
    return ENDPOINT_SLOTS.array[this.slot + 12];
  }
  set ipBytes(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 12] = v;
  }
  get bytes(): number {
    return ENDPOINT_SLOTS.array[this.slot + 13];
  }
  set bytes(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 13] = v;
  }
  get retransmits(): number {
    return ENDPOINT_SLOTS.array[this.slot + 22];
  }
  set retransmits(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 22] = v;
  }
  get outOfOrder(): number {
    return ENDPOINT_SLOTS.array[this.slot + 23];
  }
  set outOfOrder(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 23] = v;
  }
  get keepalives(): number {
    return ENDPOINT_SLOTS.array[this.slot + 24];
  }
  set keepalives(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 24] = v;
  }
  get zeroWindows(): number {
    return ENDPOINT_SLOTS.array[this.slot + 25];
  }
  set zeroWindows(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 25] = v;
  }
  /** Bytes of this endpoint's sequence space never seen. */
  get missed(): number {
    return ENDPOINT_SLOTS.array[this.slot + 26];
  }
  set missed(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 26] = v;
  }

  /** Of `missed`, the bytes the capture lost (not payload the snaplen cut). */
  get lost(): number {
    return ENDPOINT_SLOTS.array[this.slot + 33];
  }
  set lost(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 33] = v;
  }

  // ---- Zeek history bookkeeping ----
  get histLastSyn(): number {
    return ENDPOINT_SLOTS.array[this.slot + 9];
  }
  set histLastSyn(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 9] = v;
  }
  get histLastFin(): number {
    return ENDPOINT_SLOTS.array[this.slot + 10];
  }
  set histLastFin(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 10] = v;
  }
  get histLastRst(): number {
    return ENDPOINT_SLOTS.array[this.slot + 11];
  }
  set histLastRst(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 11] = v;
  }
  get rxmitCount(): number {
    return ENDPOINT_SLOTS.array[this.slot + 27];
  }
  set rxmitCount(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 27] = v;
  }
  get rxmitThresh(): number {
    return ENDPOINT_SLOTS.array[this.slot + 28];
  }
  set rxmitThresh(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 28] = v;
  }
  get zeroWinCount(): number {
    return ENDPOINT_SLOTS.array[this.slot + 29];
  }
  set zeroWinCount(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 29] = v;
  }
  get zeroWinThresh(): number {
    return ENDPOINT_SLOTS.array[this.slot + 30];
  }
  set zeroWinThresh(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 30] = v;
  }
  get gapCount(): number {
    return ENDPOINT_SLOTS.array[this.slot + 31];
  }
  set gapCount(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 31] = v;
  }
  get gapThresh(): number {
    return ENDPOINT_SLOTS.array[this.slot + 32];
  }
  set gapThresh(v: number) {
    ENDPOINT_SLOTS.array[this.slot + 32] = v;
  }

  /** Give back this endpoint's block (TcpFlow.releaseSlots). */
  releaseSlot(): void {
    ENDPOINT_SLOTS.release(this.slot);
  }
}
