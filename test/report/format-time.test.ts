import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatSpan, formatTs, isoTs } from '../../src/report/format-time';
import { isoMicros } from '../../src/decode/capture-stats';

// Times reach the formatters from databases written by any version (an older one stored
// 1.8e13 s for a pcapng timestamp of 0xffffffff/0xffffffff): no number may make them throw.
const hostile = [NaN, Infinity, -Infinity, 1e300, -1e300, 1.8446744073709552e13, 4.61168602022314e18, 8.64e12 + 1, -8.64e12 - 1, 253402300800, -62167219201, Number.MAX_VALUE];

test('every time formatter survives any number', () => {
  for (const x of hostile) {
    assert.equal(formatTs(x), '?', String(x));
    assert.equal(formatTs(x, true), '?', String(x));
    assert.equal(isoTs(x), null, String(x));
    assert.equal(formatSpan(x, x), '? to ?', String(x));
    assert.equal(formatSpan(1795755833, x), '2026-11-27 05:03:53 UTC to ?', String(x));
    assert.equal(typeof formatDuration(x), 'string');
    assert.equal(typeof formatDuration(x - 1795755833), 'string');
    assert.equal(isoMicros(x * 1e6), null, String(x));
  }
});

test('the edges of the printable range', () => {
  assert.equal(formatTs(0), '1970-01-01 00:00:00 UTC');
  assert.equal(formatTs(253402300799.999, true), '9999-12-31 23:59:59.999 UTC');
  assert.equal(isoTs(253402300799.5), '9999-12-31T23:59:59.500000Z');
  assert.equal(isoMicros(0), '1970-01-01T00:00:00.000000Z');
  // The last µs a double holds exactly below year 10000 is 32 µs before it.
  assert.equal(isoMicros(253402300800e6 - 32), '9999-12-31T23:59:59.999968Z');
  assert.equal(isoMicros(253402300800e6), null);
  assert.equal(isoMicros(1795755833527827), '2026-11-27T05:03:53.527827Z');
  assert.equal(isoMicros(-1), null);
  assert.equal(formatDuration(Infinity), '?');
  assert.equal(formatDuration(NaN), '?');
});
