import { decodeFlowRecord, encodeFlowRecords, F, nextFlow, ownersPosition as ownersAt, type FlowBatch } from '../tcp/flow-batch';
import type { SocketOwner } from '../tcp/flow-record';
import { SocketOwnerResolver, type SocketOwnerResolverOptions } from './socket-owners';

/** A flow's encoded values kept for a retry: a batch of its own. */
interface Kept {
  nums: Float64Array;
  texts: readonly string[];
}

/**
 * Socket owners (which process holds each local end, src/host/socket-owners.ts)
 * put into flow batches as the live writer thread receives them, so the
 * capture thread never walks /proc nor turns flows into objects for it.
 * A flow written without an owner is looked up once more at the next
 * refresh (its socket may have appeared after the refresh before it was
 * written) and written again if it has one then.
 */
export class BatchOwners {
  private readonly resolver: SocketOwnerResolver;
  /** Flows whose last record was written without an owner, by uid (the latest record wins). */
  private retry = new Map<number, Kept>();
  /** Flows whose last record written had an owner. */
  private readonly owned = new Set<number>();

  constructor(opts: SocketOwnerResolverOptions = {}) {
    this.resolver = new SocketOwnerResolver(opts);
  }

  /** Flows whose last record written had a socket owner. */
  get flowsWithOwners(): number {
    return this.owned.size;
  }

  /**
   * Re-read the kernel's sockets and their processes; returns the flows
   * written without an owner since the previous refresh that have one now
   * (with it), or null when there is none.
   */
  refresh(): FlowBatch | null {
    this.resolver.refresh();
    const retry = this.retry;
    this.retry = new Map();
    const found = [];
    for (const [uid, k] of retry) {
      const owners = this.ownersOfFlow(k.nums, 0, k.texts);
      if (owners.length === 0) continue;
      const rec = decodeFlowRecord(k.nums, 0, k.texts);
      rec.owners = owners;
      found.push(rec);
      this.owned.add(uid);
    }
    return found.length > 0 ? encodeFlowRecords(found) : null;
  }

  /** The batch with each flow's owners as known now (the batch itself when no flow has one). */
  attach(batch: FlowBatch): FlowBatch {
    const a = batch.nums;
    const texts = batch.texts;
    const ends: number[] = [];
    const found: (SocketOwner[] | null)[] = [];
    let extra = 0;
    let any = false;
    for (let i = 0, p = 0; i < batch.count; i++) {
      const next = nextFlow(a, p);
      const uid = a[p + F.UID];
      const owners = this.ownersOfFlow(a, p, texts);
      this.retry.delete(uid);
      if (owners.length > 0) {
        this.owned.add(uid);
        any = true;
        extra += owners.length * 3 - a[ownersAt(a, p)] * 3;
        found.push(owners);
      } else {
        this.owned.delete(uid);
        this.retry.set(uid, { nums: a.slice(p, next), texts });
        found.push(null);
      }
      ends.push(next);
      p = next;
    }
    if (!any) return batch;
    const out = new Float64Array((ends.length > 0 ? ends[ends.length - 1] : 0) + extra);
    const table = texts.slice();
    const commands = new Map<string, number>();
    let o = 0;
    for (let i = 0, p = 0; i < batch.count; i++) {
      const next = ends[i];
      const owners = found[i];
      if (owners === null) {
        out.set(a.subarray(p, next), o);
        o += next - p;
      } else {
        const at = ownersAt(a, p);
        out.set(a.subarray(p, at), o);
        o += at - p;
        out[o++] = owners.length;
        for (const w of owners) {
          let t = commands.get(w.command);
          if (t === undefined) commands.set(w.command, (t = table.push(w.command) - 1));
          out[o++] = w.endpoint === 'orig' ? 0 : 1;
          out[o++] = w.pid;
          out[o++] = t;
        }
        const rest = at + 1 + a[at] * 3;
        out.set(a.subarray(rest, next), o);
        o += next - rest;
      }
      p = next;
    }
    return { count: batch.count, nums: out, texts: table };
  }

  private ownersOfFlow(a: Float64Array, p: number, texts: readonly string[]): SocketOwner[] {
    return this.resolver.ownersOf({ origH: texts[a[p + F.ORIG_H]], origP: a[p + F.ORIG_P], respH: texts[a[p + F.RESP_H]], respP: a[p + F.RESP_P] });
  }
}
