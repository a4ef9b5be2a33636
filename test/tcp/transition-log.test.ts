import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logTransition, materializeTransitions } from '../../src/tcp/transition-log';
import { ST_CLOSED, ST_ESTABLISHED, ST_FIN_WAIT_1, ST_SYN_SENT } from '../../src/tcp/tcp-state-codes';

test('transition log round-trips times (also before the base and far after it), endpoints, from/to and causes', () => {
  const base = 1_764_000_000_123_456;
  const log: number[] = [];
  logTransition(log, base, true, ST_SYN_SENT, base, 'sent SYN');
  logTransition(log, base, false, ST_ESTABLISHED, base - 7, 'midstream pickup');
  logTransition(log, base, true, ST_ESTABLISHED, base + 2 ** 45 + 3, 'recv SYN+ACK');
  logTransition(log, base, true, ST_FIN_WAIT_1, base + 123_456_789, 'sent FIN');
  logTransition(log, base, false, ST_CLOSED, base + 2 ** 39, 'recv RST');
  assert.deepEqual(materializeTransitions(log, base), [
    { tsUs: base, endpoint: 'orig', from: 'UNKNOWN', to: 'SYN_SENT', cause: 'sent SYN' },
    { tsUs: base - 7, endpoint: 'resp', from: 'UNKNOWN', to: 'ESTABLISHED', cause: 'midstream pickup' },
    { tsUs: base + 2 ** 45 + 3, endpoint: 'orig', from: 'SYN_SENT', to: 'ESTABLISHED', cause: 'recv SYN+ACK' },
    { tsUs: base + 123_456_789, endpoint: 'orig', from: 'ESTABLISHED', to: 'FIN_WAIT_1', cause: 'sent FIN' },
    { tsUs: base + 2 ** 39, endpoint: 'resp', from: 'ESTABLISHED', to: 'CLOSED', cause: 'recv RST' },
  ]);
});
