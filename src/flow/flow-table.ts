import { flowHash4, flowHash6, sameAddr6 } from './flow-key';

/** The key fields a flow carries so the table can find it in either direction. */
export interface KeyedFlow {
  ipVersion: 4 | 6;
  origAddr4: number;
  respAddr4: number;
  /** Copies owned by the flow (IPv6 only). */
  origAddr6: Uint32Array | null;
  respAddr6: Uint32Array | null;
  origPort: number;
  respPort: number;
  /** Bucket hash, set by the table. */
  bucketHash: number;
  /** Next flow in the same hash bucket, managed by the table. */
  nextInBucket: KeyedFlow | null;
}

/** Result of a lookup: which way the packet goes relative to the flow's roles. */
export const DIR_NONE = 0;
export const DIR_FROM_ORIG = 1;
export const DIR_FROM_RESP = 2;

/**
 * Direction-independent flow table: a Map from a 30-bit numeric hash to a
 * chain of flows; matches are confirmed on the real address/port fields.
 * Lookups allocate nothing. `lastDir` tells which way the found packet went.
 */
export class FlowTable<F extends KeyedFlow> {
  private readonly buckets = new Map<number, F>();
  private count = 0;
  /** Direction of the packet in the last successful lookup (DIR_*). */
  lastDir = DIR_NONE;
  /** Hash computed by the last lookup (reuse it for insert). */
  lastHash = 0;

  get size(): number {
    return this.count;
  }

  find4(src: number, srcPort: number, dst: number, dstPort: number): F | null {
    const h = flowHash4(src, srcPort, dst, dstPort);
    this.lastHash = h;
    let f = (this.buckets.get(h) as KeyedFlow | undefined) ?? null;
    while (f !== null) {
      if (f.ipVersion === 4) {
        if (f.origAddr4 === src && f.respAddr4 === dst && f.origPort === srcPort && f.respPort === dstPort) {
          this.lastDir = DIR_FROM_ORIG;
          return f as F;
        }
        if (f.origAddr4 === dst && f.respAddr4 === src && f.origPort === dstPort && f.respPort === srcPort) {
          this.lastDir = DIR_FROM_RESP;
          return f as F;
        }
      }
      f = f.nextInBucket;
    }
    this.lastDir = DIR_NONE;
    return null;
  }

  find6(src: Uint32Array, srcPort: number, dst: Uint32Array, dstPort: number): F | null {
    const h = flowHash6(src, srcPort, dst, dstPort);
    this.lastHash = h;
    let f = (this.buckets.get(h) as KeyedFlow | undefined) ?? null;
    while (f !== null) {
      if (f.ipVersion === 6 && f.origAddr6 !== null && f.respAddr6 !== null) {
        if (f.origPort === srcPort && f.respPort === dstPort && sameAddr6(f.origAddr6, src) && sameAddr6(f.respAddr6, dst)) {
          this.lastDir = DIR_FROM_ORIG;
          return f as F;
        }
        if (f.origPort === dstPort && f.respPort === srcPort && sameAddr6(f.origAddr6, dst) && sameAddr6(f.respAddr6, src)) {
          this.lastDir = DIR_FROM_RESP;
          return f as F;
        }
      }
      f = f.nextInBucket;
    }
    this.lastDir = DIR_NONE;
    return null;
  }

  /** Insert a flow whose key fields are set; `hash` is the bucket hash (from the preceding find). */
  insert(flow: F, hash: number): void {
    flow.bucketHash = hash;
    const head = this.buckets.get(hash);
    flow.nextInBucket = head ?? null;
    this.buckets.set(hash, flow);
    this.count++;
  }

  remove(flow: F): boolean {
    const h = flow.bucketHash;
    let prev: KeyedFlow | null = null;
    let f = (this.buckets.get(h) as KeyedFlow | undefined) ?? null;
    while (f !== null) {
      if (f === flow) {
        if (prev === null) {
          if (f.nextInBucket === null) this.buckets.delete(h);
          else this.buckets.set(h, f.nextInBucket as F);
        } else {
          prev.nextInBucket = f.nextInBucket;
        }
        flow.nextInBucket = null;
        this.count--;
        return true;
      }
      prev = f;
      f = f.nextInBucket;
    }
    return false;
  }

  /** Every flow currently held (allocates; not for the hot path). */
  all(): F[] {
    const out: F[] = [];
    for (const head of this.buckets.values()) {
      let f: KeyedFlow | null = head;
      while (f !== null) {
        out.push(f as F);
        f = f.nextInBucket;
      }
    }
    return out;
  }

  clear(): void {
    this.buckets.clear();
    this.count = 0;
  }
}
