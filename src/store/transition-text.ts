/**
 * The stored text of a flow's timeline, `flow_transitions.data` (schema.ts,
 * version 2): `[[dt_us,endpoint,from,to,cause],...]` with the state names
 * and causes as transition_words ids, built from a batch's transitions
 * (flow-batch.ts: ts, endpoint, then from, to and cause as text-table
 * indices). Within one batch a text's word id is looked up once (an array
 * by text index), and the `,from,to,cause]` tail of each distinct triple is
 * built once: most transitions of a batch share a handful of triples.
 */
export class TransitionText {
  private texts: readonly string[] = [];
  /** Word id by text index of the current batch; -1: not looked up yet. */
  private wordOf = new Int32Array(64);
  /** 1 where the text of that index is TIME_WAIT. */
  private timeWaitOf = new Uint8Array(64);
  /** `,from,to,cause]` by (from << 20 | to << 10 | cause) of word ids below 1024. */
  private readonly tails = new Map<number, string>();
  /** Whether the last json() had a transition to TIME_WAIT. */
  timeWait = 0;

  /** `wordId`: the transition_words id of a text, added on first use (called in from, to, cause order). */
  constructor(private readonly wordId: (word: string) => number) {}

  /** Start a batch: its text table. */
  begin(texts: readonly string[]): void {
    this.texts = texts;
    if (this.wordOf.length < texts.length) {
      let size = this.wordOf.length;
      while (size < texts.length) size *= 2;
      this.wordOf = new Int32Array(size);
      this.timeWaitOf = new Uint8Array(size);
    }
    this.wordOf.fill(-1, 0, texts.length);
    this.tails.clear();
  }

  private word(i: number): number {
    let w = this.wordOf[i];
    if (w < 0) {
      const text = this.texts[i];
      this.wordOf[i] = w = this.wordId(text);
      this.timeWaitOf[i] = text === 'TIME_WAIT' ? 1 : 0;
    }
    return w;
  }

  /** The text of the n (> 0) transitions at p of batch values `a`, times from the first one's; sets timeWait. */
  json(a: Float64Array, p: number, n: number): string {
    const base = a[p];
    let data = '[';
    let timeWait = 0;
    for (let i = 0; i < n; i++, p += 5) {
      const from = this.word(a[p + 2]);
      const to = this.word(a[p + 3]);
      const cause = this.word(a[p + 4]);
      timeWait |= this.timeWaitOf[a[p + 3]];
      let tail: string | undefined;
      if ((from | to | cause) < 1024) {
        const key = (from << 20) | (to << 10) | cause;
        tail = this.tails.get(key);
        if (tail === undefined) {
          tail = `,${from},${to},${cause}]`;
          this.tails.set(key, tail);
        }
      } else tail = `,${from},${to},${cause}]`;
      data += `${i === 0 ? '[' : ',['}${a[p] - base},${a[p + 1]}${tail}`;
    }
    this.timeWait = timeWait;
    return `${data}]`;
  }
}
