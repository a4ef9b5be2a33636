import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { measureCommand, median } from '../../bench/measure-command';

// The bench reports peak RSS per tool: check the measurement on a child whose
// memory use is known, and that failures are reported with their message.

test('peak RSS of a child that fills 150 MB is at least 150 MB, and of a tiny one far less', async () => {
  const big = await measureCommand(process.execPath, ['-e', 'Buffer.alloc(150e6).fill(1)'], os.tmpdir());
  assert.equal(big.exitCode, 0);
  assert.ok(big.peakRssKb >= 150e6 / 1024, `peak RSS ${big.peakRssKb} KiB`);
  const small = await measureCommand('true', [], os.tmpdir());
  assert.equal(small.exitCode, 0);
  assert.ok(small.peakRssKb < 20 * 1024, `peak RSS of true: ${small.peakRssKb} KiB`);
  assert.ok(big.wallS > 0 && small.wallS > 0);
});

test('a failing command reports its exit code and the error line from stderr', async () => {
  const r = await measureCommand(process.execPath, ['-e', 'console.error("boom: Error: no such capture"); process.exit(3)'], os.tmpdir());
  assert.equal(r.exitCode, 3);
  assert.match(r.error ?? '', /no such capture/);
  const missing = await measureCommand('/nonexistent/tool', [], os.tmpdir());
  assert.notEqual(missing.exitCode, 0);
});

test('median of an odd and an even number of runs, ignoring unmeasured ones', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([NaN, 5, 1]), 3);
  assert.ok(Number.isNaN(median([])));
});
