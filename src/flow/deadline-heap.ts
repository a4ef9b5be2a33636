/**
 * Binary min-heap of (deadline, item) kept in parallel arrays, so scheduling
 * and expiry checks allocate nothing per packet. Stale entries are allowed:
 * the owner validates an entry when it pops it (see tcp-engine.ts).
 */
export class DeadlineHeap<T> {
  private readonly keys: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Smallest deadline, or +Infinity when empty. */
  peekDeadline(): number {
    return this.keys.length > 0 ? this.keys[0] : Number.POSITIVE_INFINITY;
  }

  push(deadline: number, item: T): void {
    const keys = this.keys;
    const items = this.items;
    let i = keys.length;
    keys.push(deadline);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] <= deadline) break;
      keys[i] = keys[p];
      items[i] = items[p];
      i = p;
    }
    keys[i] = deadline;
    items[i] = item;
  }

  /** Remove and return the item with the smallest deadline (heap must be non-empty). */
  pop(): T {
    const keys = this.keys;
    const items = this.items;
    const top = items[0];
    const lastKey = keys.pop() as number;
    const lastItem = items.pop() as T;
    const n = keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && keys[r] < keys[l] ? r : l;
        if (keys[c] >= lastKey) break;
        keys[i] = keys[c];
        items[i] = items[c];
        i = c;
      }
      keys[i] = lastKey;
      items[i] = lastItem;
    }
    return top;
  }

  clear(): void {
    this.keys.length = 0;
    this.items.length = 0;
  }
}
