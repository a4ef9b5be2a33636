import type { RawPacket } from '../source/raw-packet';

/**
 * Captured packets handed from the capture thread to the tracker thread
 * (live-tracker.ts) through one SharedArrayBuffer: a single-producer,
 * single-consumer ring of records, no object and no message per packet.
 *
 * Layout: a control block of Int32 slots (CTRL_BYTES), then `size` bytes of
 * records. A record is 8-byte aligned: its length in bytes (u32, padding
 * included), caplen, origlen, a spare u32, the timestamp (f64, µs), then
 * the packet's bytes. A record never wraps: where the next one does not fit
 * before the end, the writer leaves a WRAP length there and starts again at
 * 0. `write` and `read` are byte offsets into the records; write == read is
 * empty, and the writer never lets write catch up with read from behind, so
 * a full ring is never mistaken for an empty one.
 */

const C_WRITE = 0;
const C_READ = 1;
/** 1 while the reader sleeps in Atomics.wait (the writer wakes it). */
const C_SLEEPING = 2;
const C_SIGNAL = 3;
/** Packets the writer could not queue (the ring was full). */
const C_DROPPED = 4;
const CTRL_SLOTS = 8;
const CTRL_BYTES = CTRL_SLOTS * 4;
const HEADER = 24;
const WRAP = 0xffffffff;

/** Default records area: 32 MiB, about 50k full-size Ethernet frames (half a second at 100k packets/s). */
export const DEFAULT_RING_BYTES = 32 << 20;

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** A ring of `size` record bytes (a multiple of 8). */
export function makePacketRing(size = DEFAULT_RING_BYTES): SharedArrayBuffer {
  if (size % 8 !== 0 || size < 64) throw new Error(`packet ring size ${size}: a multiple of 8, at least 64`);
  return new SharedArrayBuffer(CTRL_BYTES + size);
}

/** The capture thread's end. */
export class PacketRingWriter {
  private readonly ctrl: Int32Array;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  private readonly bytes: Uint8Array;
  private readonly size: number;
  /** Own copy of the write offset (only this thread moves it). */
  private w: number;
  /** Packets queued so far. */
  queued = 0;

  constructor(sab: SharedArrayBuffer) {
    this.ctrl = new Int32Array(sab, 0, CTRL_SLOTS);
    this.size = sab.byteLength - CTRL_BYTES;
    this.u32 = new Uint32Array(sab, CTRL_BYTES, this.size / 4);
    this.f64 = new Float64Array(sab, CTRL_BYTES, this.size / 8);
    this.bytes = new Uint8Array(sab, CTRL_BYTES, this.size);
    this.w = Atomics.load(this.ctrl, C_WRITE);
  }

  /** Queue a copy of the packet; false (and counted as dropped) when the ring has no room for it. */
  push(p: RawPacket): boolean {
    const need = HEADER + align8(p.caplen);
    const size = this.size;
    const r = Atomics.load(this.ctrl, C_READ);
    let at = this.w;
    if (at >= r) {
      // Free: [at, size) and [0, r); the record must not end exactly on r.
      if (at + need > size || (at + need === size && r === 0)) {
        if (need >= r) return this.dropped();
        this.u32[at >> 2] = WRAP;
        at = 0;
      }
    } else if (at + need >= r) return this.dropped();
    const q = at >> 2;
    this.u32[q] = need;
    this.u32[q + 1] = p.caplen;
    this.u32[q + 2] = p.origlen;
    this.f64[(at >> 3) + 2] = p.tsUs;
    this.bytes.set(p.buf.subarray(p.off, p.off + p.caplen), at + HEADER);
    let next = at + need;
    if (next === size) next = 0;
    this.w = next;
    Atomics.store(this.ctrl, C_WRITE, next);
    this.queued++;
    if (Atomics.load(this.ctrl, C_SLEEPING) === 1) {
      Atomics.store(this.ctrl, C_SLEEPING, 0);
      Atomics.add(this.ctrl, C_SIGNAL, 1);
      Atomics.notify(this.ctrl, C_SIGNAL);
    }
    return true;
  }

  /** Wake the reader (a command was posted to it). */
  wake(): void {
    Atomics.store(this.ctrl, C_SLEEPING, 0);
    Atomics.add(this.ctrl, C_SIGNAL, 1);
    Atomics.notify(this.ctrl, C_SIGNAL);
  }

  /** Packets not queued because the ring was full. */
  get droppedPackets(): number {
    return Atomics.load(this.ctrl, C_DROPPED);
  }

  private dropped(): boolean {
    Atomics.add(this.ctrl, C_DROPPED, 1);
    return false;
  }
}

/** The tracker thread's end: lends each record as a RawPacket (reused; its buf is a view of the ring, valid until the handler returns). */
export class PacketRingReader {
  private readonly ctrl: Int32Array;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  private readonly size: number;
  private r: number;
  private readonly pkt: RawPacket;
  /** Packets taken so far. */
  taken = 0;

  constructor(sab: SharedArrayBuffer, linktype: number) {
    this.ctrl = new Int32Array(sab, 0, CTRL_SLOTS);
    this.size = sab.byteLength - CTRL_BYTES;
    this.u32 = new Uint32Array(sab, CTRL_BYTES, this.size / 4);
    this.f64 = new Float64Array(sab, CTRL_BYTES, this.size / 8);
    this.r = Atomics.load(this.ctrl, C_READ);
    this.pkt = { buf: Buffer.from(sab, CTRL_BYTES, this.size), off: 0, caplen: 0, origlen: 0, tsUs: 0, linktype, interfaceId: 0, fileOffset: 0 };
  }

  /** Hand at most `max` queued packets to `fn`, in order; returns how many. */
  drain(max: number, fn: (p: RawPacket) => void): number {
    const w = Atomics.load(this.ctrl, C_WRITE);
    const p = this.pkt;
    let n = 0;
    let r = this.r;
    while (r !== w && n < max) {
      const q = r >> 2;
      const len = this.u32[q];
      if (len === WRAP) {
        r = 0;
        continue;
      }
      p.caplen = this.u32[q + 1];
      p.origlen = this.u32[q + 2];
      p.tsUs = this.f64[(r >> 3) + 2];
      p.off = r + HEADER;
      fn(p);
      n++;
      r += len;
      if (r === this.size) r = 0;
      // Given back per record: the writer can reuse the room at once.
      this.r = r;
      Atomics.store(this.ctrl, C_READ, r);
    }
    this.taken += n;
    return n;
  }

  /** Nothing queued now. */
  get empty(): boolean {
    return this.r === Atomics.load(this.ctrl, C_WRITE);
  }

  /** Sleep until the writer queues a packet or wakes us, at most `ms`. */
  sleep(ms: number): void {
    const signal = Atomics.load(this.ctrl, C_SIGNAL);
    Atomics.store(this.ctrl, C_SLEEPING, 1);
    // Checked again after saying so: a packet queued in between would otherwise wait the whole timeout.
    if (this.empty) Atomics.wait(this.ctrl, C_SIGNAL, signal, ms);
    Atomics.store(this.ctrl, C_SLEEPING, 0);
  }
}
