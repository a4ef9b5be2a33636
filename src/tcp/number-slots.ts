/**
 * Fixed-size blocks of doubles in one Float64Array, for the numeric state of
 * flows and endpoints: times in µs and 32-bit sequence numbers (as object
 * fields, each is a pointer to a separately allocated heap number) and the
 * small counters and codes (an 8-byte field each). Flows are held until the
 * connection ends, usually long enough to reach the old generation, so what
 * their objects contain is what garbage collection copies and marks; in a
 * pool the values cost 8 bytes each outside the collected heap. A block is
 * taken when a flow or endpoint is made and given back once the engine has
 * emitted the flow (TcpFlow.releaseSlots); blocks are reused, the array
 * grows by doubling and never shrinks.
 */
export class SlotPool {
  /** The values (replaced when the pool grows: read it through the pool, never keep it). */
  array: Float64Array;
  private used = 0;
  private free = new Int32Array(1024);
  private freeCount = 0;
  /** Values of a fresh block. */
  private readonly init: Float64Array;
  /** Values per block. */
  readonly size: number;

  /** Blocks of init.length values, each taken block starting as `init`. */
  constructor(init: readonly number[]) {
    this.init = Float64Array.from(init);
    this.size = init.length;
    this.array = new Float64Array(this.size * 1024);
  }

  /** A fresh block's base index. */
  take(): number {
    let base: number;
    if (this.freeCount > 0) base = this.free[--this.freeCount];
    else {
      if (this.used + this.size > this.array.length) {
        const bigger = new Float64Array(this.array.length * 2);
        bigger.set(this.array);
        this.array = bigger;
      }
      base = this.used;
      this.used += this.size;
    }
    // A loop: TypedArray.set costs more than copying a few values.
    const a = this.array;
    const init = this.init;
    for (let i = 0; i < init.length; i++) a[base + i] = init[i];
    return base;
  }

  /** Give a block back; its owner must not be read or written afterwards. */
  release(base: number): void {
    if (this.freeCount === this.free.length) {
      const bigger = new Int32Array(this.free.length * 2);
      bigger.set(this.free);
      this.free = bigger;
    }
    this.free[this.freeCount++] = base;
  }
}
