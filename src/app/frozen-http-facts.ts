import type { AppFlow } from './app-flow';
import { grown } from '../tcp/flow-batch';
import { pushHttpFactsPart, type FactsBuilder } from './http-batch';

/**
 * A flow's HTTP facts once no segment can change them any more (both FINs
 * seen and every byte before them read, app-hook.ts): the facts part as
 * AppFlow.encode lays it out, kept in a plain array of numbers with its few
 * texts, so that the AppFlow (two parsers, the exchange slots, about 1 KB)
 * goes back to the pool while the connection sits in TIME_WAIT. A busy
 * proxy holds tens of thousands of connections there; each keeps a few
 * hundred bytes instead.
 */
export class FrozenHttpFacts {
  constructor(
    /** The facts part (its value count first); texts as indices into `texts`. */
    readonly part: readonly number[],
    readonly texts: readonly string[],
  ) {}

  /** Append the facts to a flow batch, as AppFlow.encode would have then. */
  pushTo(b: FactsBuilder): void {
    pushHttpFactsPart(b, this.part, this.texts);
  }
}

/** Where a facts part is encoded before it is copied out: reused, with a new text table per flow (it becomes the frozen copy's). */
class FreezeScratch implements FactsBuilder {
  nums = new Float64Array(1024);
  length = 0;
  texts: string[] = [];

  reserve(n: number): void {
    if (this.length + n > this.nums.length) this.nums = grown(this.nums, this.length, n);
  }

  push(v: number): void {
    this.nums[this.length++] = v;
  }

  text(s: string | null): number {
    if (s === null) return NaN;
    const t = this.texts;
    for (let i = 0; i < t.length; i++) if (t[i] === s) return i;
    t.push(s);
    return t.length - 1;
  }
}

const scratch = new FreezeScratch();

/** The facts of `app` as encode() gives them with these close signals of the TCP flow (see AppFlow.encode). */
export function freezeHttpFacts(app: AppFlow, respFinFirst: boolean, finTsUs: number, rstTsUs: number): FrozenHttpFacts {
  scratch.length = 0;
  scratch.texts = [];
  app.encode(scratch, respFinFirst, finTsUs, rstTsUs);
  const n = scratch.length;
  const part: number[] = new Array<number>(n);
  const a = scratch.nums;
  for (let i = 0; i < n; i++) part[i] = a[i];
  return new FrozenHttpFacts(part, scratch.texts);
}
