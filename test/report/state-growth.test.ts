import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fixture } from '../helpers/paths';
import { FlowStore } from '../../src/store/flow-store';
import { ingestFiles } from '../../src/pipeline/ingest-files';
import { buildReport } from '../../src/report/model';
import { countAt, durationStats, growthOf, levelSteps, peakOf, percentile, EPHEMERAL_PORTS } from '../../src/report/state-growth';
import type { CloseWaitGrowthFacts } from '../../src/report/findings/close-wait-growth';
import type { TimeWaitPortUse } from '../../src/report/findings/time-wait-ports';

const S = 1e6;

test('growthOf: growing, draining and steady churn from the last quarter; net change per minute; peak and when', () => {
  // One new CLOSE_WAIT every 10 s for 100 s, none leaves: growing, +6/min.
  const rising = Array.from({ length: 10 }, (_, i) => ({ fromUs: (i * 10 + 5) * S, toUs: NaN }));
  const g = growthOf(rising, 0, 100 * S);
  assert.deepEqual([g.verdict, g.startCount, g.endCount, g.peak, g.peakTs, g.levelsOff, g.left], ['growing', 0, 10, 10, 95, false, 0]);
  assert.equal(g.netPerMin, 6);
  // The same ten, then all leave in the last 20 s: draining.
  const drained = rising.map((s, i) => ({ fromUs: s.fromUs / 2, toUs: (81 + i) * S }));
  const d = growthOf(drained, 0, 100 * S);
  assert.equal(d.verdict, 'draining');
  assert.equal(d.endCount, 0);
  assert.equal(d.left, 10);
  assert.equal(d.peak, 10);
  // Ten that arrive in the first half and stay: it levels off.
  const level = rising.map((s) => ({ fromUs: s.fromUs / 2, toUs: NaN }));
  const l = growthOf(level, 0, 100 * S);
  assert.deepEqual([l.verdict, l.levelsOff, l.lastQuarterChange], ['steady churn', true, 0]);
  // Churn: one arrives and one leaves every 10 s, about 3 at a time.
  const churn = Array.from({ length: 10 }, (_, i) => ({ fromUs: i * 10 * S, toUs: (i * 10 + 30) * S }));
  const c = growthOf(churn, 0, 100 * S);
  assert.equal(c.verdict, 'draining', 'the last ones leave and none arrive after t = 90 s');
  const churn2 = Array.from({ length: 20 }, (_, i) => ({ fromUs: i * 5 * S, toUs: (i * 5 + 15) * S }));
  const c2 = growthOf(churn2, 0, 90 * S);
  assert.equal(c2.verdict, 'steady churn');
  assert.equal(c2.peak, 3);
});

test('levelSteps / countAt / peakOf: exact step function, simultaneous changes as one instant', () => {
  const steps = levelSteps(
    [
      { fromUs: 10, toUs: 20 },
      { fromUs: 20, toUs: NaN },
      { fromUs: 15, toUs: 30 },
    ],
    0,
  );
  assert.deepEqual(steps, [
    { tUs: 0, count: 0 },
    { tUs: 10, count: 1 },
    { tUs: 15, count: 2 },
    { tUs: 30, count: 1 },
  ]);
  assert.equal(countAt(steps, 19), 2);
  assert.equal(countAt(steps, 20), 2);
  assert.deepEqual(peakOf(steps), { peak: 2, atUs: 15 });
});

test('durationStats: median, nearest-rank p95, max, and the 5 min / 30 min thresholds', () => {
  const d = Array.from({ length: 40 }, (_, i) => (i + 1) * 60); // 1 .. 40 minutes
  const s = durationStats(d, 300, 1800)!;
  assert.equal(s.count, 40);
  assert.equal(s.medianS, 20.5 * 60);
  assert.equal(s.p95S, 38 * 60);
  assert.equal(s.maxS, 40 * 60);
  assert.equal(s.overWarn, 35);
  assert.equal(s.overCrit, 10);
  assert.equal(durationStats([], 300, 1800), null);
  assert.equal(percentile([1, 2, 3], 100), 3);
  assert.equal(EPHEMERAL_PORTS.count, 28232);
});

test('report on nginx-closewait-pileup: CLOSE_WAIT growing, how long the closed ones stayed, TIME_WAIT peak against the port range', async () => {
  const truth = JSON.parse(fs.readFileSync(fixture('nginx-closewait-pileup.json'), 'utf8')) as { client: string; server: string };
  const store = FlowStore.open(':memory:');
  try {
    await ingestFiles(store, [fixture('nginx-closewait-pileup.pcap')]);
    const r = buildReport(store.db);
    const cw = r.findings.find((f) => f.kind === 'close_wait')!;
    const g = (cw.facts as { growth: CloseWaitGrowthFacts }).growth;
    assert.equal(g.verdict, 'growing');
    assert.equal(g.endCount, 20);
    assert.equal(g.peak, 20);
    assert.equal(g.left, 10);
    assert.ok(g.netPerMin > 10 && g.netPerMin < 20, String(g.netPerMin));
    // How long the 10 closed ones stayed, from the transitions themselves.
    const stayed = (
      store.db
        .prepare(
          `SELECT b.ts - a.ts AS s FROM transitions a JOIN transitions b ON b.flow_id = a.flow_id AND b.endpoint = a.endpoint AND b.seq > a.seq
           WHERE a.to_state = 'CLOSE_WAIT' AND b.from_state = 'CLOSE_WAIT' ORDER BY s`,
        )
        .all() as { s: number }[]
    ).map((x) => x.s);
    assert.equal(stayed.length, 10);
    assert.ok(Math.abs(g.leftDurations!.maxS - stayed[9]) < 1e-5);
    assert.ok(Math.abs(g.leftDurations!.medianS - (stayed[4] + stayed[5]) / 2) < 1e-5);
    assert.equal(g.leftDurations!.overWarn, 0);
    assert.ok(cw.details.some((d) => d.startsWith('Over time: growing')));
    assert.ok(cw.details.some((d) => d.startsWith('10 endpoints left CLOSE_WAIT within the capture')));
    const tw = r.findings.find((f) => f.kind === 'time_wait')!;
    const use = (tw.facts as { ports: TimeWaitPortUse }).ports;
    assert.deepEqual([use.peak, use.client, use.destination, use.risk], [10, truth.client, `${truth.server}:80`, 'low']);
    assert.ok(Math.abs(use.share - 10 / 28232) < 1e-6);
    assert.equal(tw.severity, 'info');
  } finally {
    store.close();
  }
});

test('the age thresholds apply to endpoints that left CLOSE_WAIT: one that stayed past --crit-age makes the group critical', async () => {
  const store = FlowStore.open(':memory:');
  try {
    await ingestFiles(store, [fixture('nginx-closewait-pileup.pcap')]);
    // As a live capture read 66 s in: the 10 closed by the pool (after 31-45 s in CLOSE_WAIT) have left,
    // the oldest still there is younger than that.
    const start = (store.db.prepare('SELECT first_ts FROM captures WHERE id = 1').get() as { first_ts: number }).first_ts;
    store.db.prepare('UPDATE captures SET last_ts = ? WHERE id = 1').run(start + 66);
    const base = buildReport(store.db);
    const cw = base.findings.find((f) => f.kind === 'close_wait')!;
    assert.equal(cw.severity, 'info');
    const g = (cw.facts as { growth: CloseWaitGrowthFacts }).growth;
    const oldest = (cw.facts as { oldestStuckS: number }).oldestStuckS;
    assert.equal(g.leftDurations!.count, 10);
    assert.ok(oldest < g.leftDurations!.maxS, `oldest current ${oldest} s, longest stay of a closed one ${g.leftDurations!.maxS} s`);
    const critAgeS = (oldest + g.leftDurations!.maxS) / 2;
    const r = buildReport(store.db, { thresholds: { critAgeS } });
    const f = r.findings.find((x) => x.kind === 'close_wait')!;
    assert.equal(f.severity, 'critical');
    assert.ok(f.details.some((d) => /Severity critical: endpoints that left CLOSE_WAIT had stayed up to/.test(d)), f.details.join('\n'));
    assert.ok((f.facts as { growth: CloseWaitGrowthFacts }).growth.leftDurations!.overCrit > 0);
    // Below every threshold for current and closed ones alike: info.
    assert.equal(buildReport(store.db, { thresholds: { warnAgeS: g.leftDurations!.maxS + 1 } }).findings.find((x) => x.kind === 'close_wait')!.severity, 'info');
  } finally {
    store.close();
  }
});
