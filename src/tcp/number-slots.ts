/**
 * Blocks of SLOT_SIZE doubles in one shared Float64Array, for the numeric
 * state of flows and endpoints that does not fit a small integer (times in
 * µs, 32-bit sequence numbers). As object fields each of those values is a
 * separately allocated heap number that garbage collection copies and marks
 * for as long as the flow is held; here they cost 8 bytes outside the
 * collected heap. A block is taken when a flow or endpoint is made and given
 * back when the engine has emitted the flow (TcpFlow.releaseSlots); blocks
 * are reused, the array grows by doubling and never shrinks.
 */
export const SLOT_SIZE = 16;

let slots = new Float64Array(SLOT_SIZE * 1024);
let used = 0;
let free = new Int32Array(1024);
let freeCount = 0;

/** The current array (replaced when it grows: read it through this, never keep it). */
export function slotArray(): Float64Array {
  return slots;
}

/** A block's base index, its doubles set to `init` (SLOT_SIZE values). */
export function takeSlot(init: readonly number[]): number {
  let base: number;
  if (freeCount > 0) base = free[--freeCount];
  else {
    if (used + SLOT_SIZE > slots.length) {
      const bigger = new Float64Array(slots.length * 2);
      bigger.set(slots);
      slots = bigger;
    }
    base = used;
    used += SLOT_SIZE;
  }
  for (let i = 0; i < SLOT_SIZE; i++) slots[base + i] = init[i];
  return base;
}

/** Give a block back; its owner must not be read or written afterwards. */
export function releaseSlot(base: number): void {
  if (freeCount === free.length) {
    const bigger = new Int32Array(free.length * 2);
    bigger.set(free);
    free = bigger;
  }
  free[freeCount++] = base;
}
