import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire } from './wire';

const C = 1000;
const S = 5000;

function established(): Wire {
  return new Wire().handshake(C, S);
}

test('conn_state for each of Zeek\'s TCP states, with the history that leads there', () => {
  const cases: [string, () => Wire, string, string][] = [
    ['S0', () => new Wire().seg({ from: 'c', flags: 'S', seq: C }), 'S0', 'S'],
    [
      'S1',
      () =>
        established()
          .seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 10 })
          .seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 11, len: 20 }),
      'S1',
      'ShADd',
    ],
    [
      'SF',
      () =>
        established()
          .seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1 })
          .seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 2 })
          .seg({ from: 'c', flags: 'A', seq: C + 2, ack: S + 2 }),
      'SF',
      'ShAFf',
    ],
    ['REJ', () => new Wire().seg({ from: 'c', flags: 'S', seq: C }).seg({ from: 's', flags: 'RA', seq: 0, ack: C + 1 }), 'REJ', 'Sr'],
    ['S2', () => established().seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1 }), 'S2', 'ShAF'],
    ['S3', () => established().seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1 }), 'S3', 'ShAf'],
    ['RSTO', () => established().seg({ from: 'c', flags: 'RA', seq: C + 1, ack: S + 1 }), 'RSTO', 'ShAR'],
    ['RSTR', () => established().seg({ from: 's', flags: 'RA', seq: S + 1, ack: C + 1 }), 'RSTR', 'ShAr'],
    ['RSTOS0', () => new Wire().seg({ from: 'c', flags: 'S', seq: C }).seg({ from: 'c', flags: 'R', seq: C + 1 }), 'RSTOS0', 'SR'],
    [
      'RSTRH',
      () => new Wire().seg({ from: 's', flags: 'SA', seq: S, ack: C + 1 }).seg({ from: 's', flags: 'R', seq: S + 1 }),
      'RSTRH',
      '^hr',
    ],
    ['SH', () => new Wire().seg({ from: 'c', flags: 'S', seq: C }).seg({ from: 'c', flags: 'F', seq: C + 1 }), 'SH', 'SF'],
    [
      'SHR',
      () => new Wire().seg({ from: 's', flags: 'SA', seq: S, ack: C + 1 }).seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1 }),
      'SHR',
      '^hf',
    ],
    ['OTH', () => new Wire({ cport: 50000, sport: 443 }).seg({ from: 'c', flags: 'PA', seq: 9, ack: 9, len: 10 }), 'OTH', 'D'],
  ];
  const seen = new Set<string>();
  for (const [label, make, state, history] of cases) {
    const f = make().only();
    assert.equal(f.connState, state, `${label}: conn_state`);
    assert.equal(f.history, history, `${label}: history`);
    seen.add(f.connState);
  }
  assert.equal(seen.size, 13, 'all thirteen conn_state values produced');
});

test('history: f/r/s repeat only on a new sequence number, a/d once per direction', () => {
  const r = established()
    .seg({ from: 's', flags: 'R', seq: S + 1 })
    .seg({ from: 's', flags: 'R', seq: S + 1 })
    .seg({ from: 's', flags: 'R', seq: S + 2 })
    .only();
  assert.equal(r.history, 'ShArr');

  const f = established()
    .seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1 })
    .seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1 })
    .seg({ from: 'c', flags: 'FA', seq: C + 6, ack: S + 1 })
    .only();
  assert.equal(f.history, 'ShAFF');

  const d = established()
    .seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 5 })
    .seg({ from: 'c', flags: 'PA', seq: C + 6, ack: S + 1, len: 5 })
    .seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 11 })
    .seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 11 })
    .seg({ from: 'c', flags: 'A', seq: C + 11, ack: S + 1 })
    .only();
  assert.equal(d.history, 'ShADa');
});

test('history: t, w and g are logarithmic (1st, 10th, 100th ...)', () => {
  const t = established().seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  for (let i = 0; i < 9; i++) t.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  assert.equal(t.only().history, 'ShADT', '9 retransmissions: one T');
  const t10 = established().seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  for (let i = 0; i < 10; i++) t10.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  const ft = t10.only();
  assert.equal(ft.history, 'ShADTT', '10 retransmissions: two T');
  assert.equal(ft.orig.retransmits, 10);

  const w = established();
  for (let i = 0; i < 10; i++) w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 1, win: 0 });
  const fw = w.only();
  assert.equal(fw.history, 'ShAaww');
  assert.equal(fw.resp.zeroWindows, 10);

  const g = established()
    .seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 })
    .seg({ from: 'c', flags: 'PA', seq: C + 201, ack: S + 1, len: 100 })
    .seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 301 })
    .only();
  assert.equal(g.history, 'ShADaG');
  assert.equal(g.missedBytes, 100);
});

test('history: I for FIN+RST, Q for SYN+FIN, once per direction', () => {
  const i = established()
    .seg({ from: 'c', flags: 'FRA', seq: C + 1, ack: S + 1 })
    .seg({ from: 'c', flags: 'FRA', seq: C + 2, ack: S + 1 })
    .only();
  assert.equal(i.history, 'ShAI');
  const q = new Wire().seg({ from: 'c', flags: 'SF', seq: C }).only();
  assert.equal(q.history, 'Q');
});
