import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeIdle, idleFingerprint } from '../../src/report/idle-fingerprint';

test('closer fingerprint with no close near the median names the spread, never Infinity', () => {
  // Two closes far apart (seen on impaired-path.pcap): the median (22.6 s) matches neither.
  const fp = idleFingerprint('client 10.0.0.2 (to 10.0.0.1:80)', [5.2, 40.0]);
  assert.equal(fp.matching, 0);
  const line = describeIdle(fp);
  assert.doesNotMatch(line, /Infinity|NaN/);
  assert.equal(line, 'client 10.0.0.2 (to 10.0.0.1:80) closes after varying idle times in 2 cases (5.2 s – 40.0 s)');
});

test('closer fingerprint of a timer still names the timer and its range', () => {
  const fp = idleFingerprint('server 10.0.0.1:80', [65.0, 65.01, 65.02]);
  assert.equal(describeIdle(fp), 'server 10.0.0.1:80 closes after 65.0 s idle in 3 of 3 cases (65.000–65.020 s)');
});
