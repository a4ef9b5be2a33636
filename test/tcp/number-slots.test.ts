import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SLOT_SIZE, releaseSlot, slotArray, takeSlot } from '../../src/tcp/number-slots';

test('number slots: blocks do not overlap, are initialized, survive growth and are reused after release', () => {
  const init = Array.from({ length: SLOT_SIZE }, (_, i) => -i - 0.5);
  const bases: number[] = [];
  // More blocks than the initial array holds, so it grows while values are held.
  for (let n = 0; n < 3000; n++) {
    const b = takeSlot(init);
    assert.equal(slotArray()[b + 3], -3.5);
    slotArray()[b] = n * 1e12 + 0.25;
    bases.push(b);
  }
  assert.equal(new Set(bases).size, bases.length);
  for (let n = 0; n < bases.length; n++) assert.equal(slotArray()[bases[n]], n * 1e12 + 0.25);
  releaseSlot(bases[7]);
  const again = takeSlot(init);
  assert.equal(again, bases[7]);
  assert.equal(slotArray()[again], -0.5);
  assert.equal(slotArray()[bases[8]], 8 * 1e12 + 0.25);
  for (const b of bases) if (b !== again) releaseSlot(b);
  releaseSlot(again);
});
