import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wrap } from '../../src/report/text-wrap';

test('wrap keeps a number and its unit on one line and never exceeds the width', () => {
  // The server-closes-first fingerprint title once wrapped as "... (median idle 0.0" / "s) in 3 of 3 cases".
  const title = 'server 10.77.5.1:80 closes right after the last data (median idle 0.0 s) in 3 of 3 cases';
  const lines = wrap(title, 80, '    ', '[1] INFO  ');
  assert.deepEqual(lines, ['[1] INFO  server 10.77.5.1:80 closes right after the last data (median idle', '    0.0 s) in 3 of 3 cases']);
  for (const width of [20, 30, 40, 60, 80]) {
    const text = 'oldest stuck 7.4 s, median 5.6 s, 41.2 % of 85 packets, 47.5 kB in 0.01 s, 42 min 5 s';
    const out = wrap(text, width, '  ');
    for (const l of out) assert.ok(l.length <= width, `${width}: ${l}`);
    assert.equal(out.map((l) => l.trim()).join(' '), text);
    assert.ok(!out.some((l) => /^\s*(s|ms|%|kB|min)\b/.test(l)), out.join('|'));
  }
});
