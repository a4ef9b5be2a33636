import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotPool } from '../../src/tcp/number-slots';

test('slot pool: blocks do not overlap, are initialized, survive growth and are reused after release', () => {
  const init = Array.from({ length: 7 }, (_, i) => -i - 0.5);
  const pool = new SlotPool(init);
  assert.equal(pool.size, 7);
  const bases: number[] = [];
  // More blocks than the initial array holds, so it grows while values are held.
  for (let n = 0; n < 3000; n++) {
    const b = pool.take();
    assert.equal(pool.array[b + 3], -3.5);
    pool.array[b] = n * 1e12 + 0.25;
    pool.array[b + 6] = -n;
    bases.push(b);
  }
  assert.equal(new Set(bases).size, bases.length);
  for (let n = 0; n < bases.length; n++) {
    assert.equal(pool.array[bases[n]], n * 1e12 + 0.25);
    assert.equal(pool.array[bases[n] + 6], -n);
  }
  pool.release(bases[7]);
  const again = pool.take();
  assert.equal(again, bases[7]);
  assert.equal(pool.array[again], -0.5);
  assert.equal(pool.array[bases[8]], 8 * 1e12 + 0.25);
});
