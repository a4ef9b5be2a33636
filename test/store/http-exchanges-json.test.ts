import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXCHANGE_VALUES, X } from '../../src/app/http-batch';
import { exchangesJson } from '../../src/store/http-facts-writer';

/** The exchanges column as JSON.stringify-like text with String() numbers: what the writer stored before it built the text as bytes. */
function reference(a: Float64Array, x: number, n: number, base: number, texts: readonly string[]): string {
  const num = (v: number): string => (v === v ? String(v) : 'null');
  const rows: string[] = [];
  for (let i = 0; i < n; i++, x += EXCHANGE_VALUES) {
    const m = a[x + X.METHOD];
    rows.push(
      `[${num(a[x + X.REQ_TS] - base)},${num(a[x + X.FIRST_RESP] - base)},${num(a[x + X.RESP_END] - base)},` +
        `${m === m ? `"${texts[m]}"` : 'null'},${num(a[x + X.STATUS])},${num(a[x + X.REQ_BODY])},${num(a[x + X.RESP_BODY])}]`,
    );
  }
  return `[${rows.join(',')}]`;
}

test('the exchanges column built as bytes is the text String() gives for every number: integers, NaN, negatives, -0, fractions, huge values', () => {
  const texts = ['GET', 'POST', 'OTHER', 'G\u0100T', 'GÉT', 'X'.repeat(100)];
  const values = [0, -0, 1, 9, 10, 99, 100, 12345, -1, -987654, 2 ** 31, 2 ** 32 + 7, 999999999999999, 1e15, -1e15, 2 ** 53, 1e21, 1.5, -0.25, 1e-7, NaN, Infinity, -Infinity];
  let seed = 7;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(rnd() * 140);
    const a = new Float64Array(3 + n * EXCHANGE_VALUES);
    for (let i = 0; i < a.length; i++) {
      const r = rnd();
      a[i] = r < 0.4 ? values[Math.floor(rnd() * values.length)] : r < 0.8 ? Math.floor(rnd() * 1e9) : Math.floor(rnd() * 1e14) - 5e13;
    }
    for (let i = 0; i < n; i++) a[3 + i * EXCHANGE_VALUES + X.METHOD] = rnd() < 0.1 ? NaN : Math.floor(rnd() * 3);
    const base = rnd() < 0.5 ? 1_767_225_600_000_000 : rnd() < 0.5 ? NaN : 0;
    assert.equal(exchangesJson(a, 3, n, base, texts), reference(a, 3, n, base, texts));
  }
  // Method texts the parser never makes (beyond one byte a character, latin1, very long) are written as they are.
  for (const m of [3, 4, 5]) {
    const a = new Float64Array(EXCHANGE_VALUES).fill(5);
    a[X.METHOD] = m;
    assert.equal(exchangesJson(a, 0, 1, 1, texts), reference(a, 0, 1, 1, texts));
  }
  const a = new Float64Array(EXCHANGE_VALUES);
  assert.equal(exchangesJson(a, 0, 0, 1, texts), '[]');
});
