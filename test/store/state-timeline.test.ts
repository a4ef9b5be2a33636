import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixture, fixturesDir } from '../helpers/paths';
import { FlowStore } from '../../src/store/flow-store';
import { ingestFiles } from '../../src/pipeline/ingest-files';
import {
  readStateTimeline,
  EXACT_MAX_FLOWS,
  MAX_BUCKETS,
  type StateSeries,
  type StateTimeline,
} from '../../src/store/state-timeline';
import { readStateStays, TIMELINE_STATES, UnknownCaptureError } from '../../src/store/state-stays';
import { generateTraffic } from '../../bench/generate-traffic';

/** Every kernel-made fixture (a .pcap with its .json ground truth), one capture each, in one database. */
async function allFixtures(): Promise<{ store: FlowStore; names: string[] }> {
  const names = fs
    .readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.json') && fs.existsSync(path.join(fixturesDir, f.replace(/\.json$/, '.pcap'))))
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
  const store = FlowStore.open(':memory:');
  for (const n of names) await ingestFiles(store, [fixture(`${n}.pcap`)]);
  return { store, names };
}

interface SqlRow {
  capture_id: number;
  ts: number;
  bucket_s: number | null;
  group_kind: string;
  grp: string;
  state: string;
  count: number;
  min: number;
  max: number;
}

/** The view's rows (only instants/buckets where a count changed) must be exactly the reader's points, minus the ones carrying a level. */
function assertViewMatches(tl: StateTimeline, rows: SqlRow[], label: string): void {
  const bySeries = new Map<string, SqlRow[]>();
  for (const r of rows) {
    const k = `${r.grp}|${r.state}`;
    if (!bySeries.has(k)) bySeries.set(k, []);
    (bySeries.get(k) as SqlRow[]).push(r);
  }
  assert.deepEqual(
    tl.series.map((s) => `${s.group}|${s.state}`).sort(),
    [...bySeries.keys()].sort(),
    `${label}: the same series`,
  );
  for (const s of tl.series) {
    const sql = (bySeries.get(`${s.group}|${s.state}`) as SqlRow[]).sort((a, b) => a.ts - b.ts);
    for (const r of sql) assert.equal(r.bucket_s, tl.bucketS, `${label}: bucket width`);
    const fromSql = new Map(sql.map((r) => [r.ts, r]));
    let prev = 0;
    for (const p of s.points) {
      const r = fromSql.get(p.t);
      if (r === undefined) {
        // Nothing changed here: the point carries the level on.
        assert.deepEqual([p.count, p.min, p.max], [prev, prev, prev], `${label} ${s.group} ${s.state} at ${p.t}: no view row, so no change`);
      } else {
        assert.deepEqual([p.count, p.min, p.max], [r.count, r.min, r.max], `${label} ${s.group} ${s.state} at ${p.t}`);
        fromSql.delete(p.t);
      }
      prev = p.count;
    }
    assert.equal(fromSql.size, 0, `${label} ${s.group} ${s.state}: view rows at instants the reader has no point for: ${[...fromSql.keys()].join(', ')}`);
  }
}

test('state_stays view and readStateStays agree on every fixture (counted states)', async () => {
  const { store, names } = await allFixtures();
  try {
    for (let id = 1; id <= names.length; id++) {
      const st = readStateStays(store.db, { captureId: id });
      const fromReader = [];
      for (let i = 0; i < st.n; i++) {
        const to = st.toUs[i];
        fromReader.push(`${st.flows.id[st.flow[i]]} ${st.endpoint[i] === 0 ? 'orig' : 'resp'} ${TIMELINE_STATES[st.state[i]]} ${st.fromUs[i]} ${to === to ? to : '-'}`);
      }
      const rows = store.db
        .prepare(
          `SELECT flow_id, endpoint, state, CAST(round(from_ts * 1e6) AS INTEGER) AS f, CAST(round(to_ts * 1e6) AS INTEGER) AS t
           FROM state_stays WHERE capture_id = ? AND state NOT IN ('UNKNOWN', 'CLOSED')`,
        )
        .all(id) as { flow_id: number; endpoint: string; state: string; f: number; t: number | null }[];
      const fromView = rows.map((r) => `${r.flow_id} ${r.endpoint} ${r.state} ${r.f} ${r.t ?? '-'}`);
      assert.ok(fromReader.length > 0, names[id - 1]);
      assert.deepEqual(fromReader.sort(), fromView.sort(), names[id - 1]);
    }
  } finally {
    store.close();
  }
});

test('state_timeline view and readStateTimeline agree on every fixture, for each grouping (exact change points)', async () => {
  const { store, names } = await allFixtures();
  try {
    for (let id = 1; id <= names.length; id++) {
      for (const group of ['all', 'service', 'host'] as const) {
        const tl = readStateTimeline(store.db, { captureId: id, group });
        assert.equal(tl.bucketS, null, `${names[id - 1]} has at most ${EXACT_MAX_FLOWS} flows: exact change points`);
        const rows = store.db.prepare('SELECT * FROM state_timeline WHERE capture_id = ? AND group_kind = ?').all(id, group) as SqlRow[];
        assertViewMatches(tl, rows, `${names[id - 1]} by ${group}`);
      }
    }
  } finally {
    store.close();
  }
});

test('a capture with more flows than EXACT_MAX_FLOWS is bucketed, at most MAX_BUCKETS per series, the same in SQL and in the reader', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-timeline-'));
  const file = path.join(dir, 'gen.pcap');
  const g = generateTraffic({ out: file, connections: 1500, seed: 11 });
  const store = FlowStore.open(':memory:');
  try {
    await ingestFiles(store, [file]);
    for (const group of ['all', 'service'] as const) {
      const tl = readStateTimeline(store.db, { captureId: 1, group, maxGroups: 1000 });
      assert.ok(tl.bucketS !== null && tl.bucketS > 0);
      // The smallest round width giving at most MAX_BUCKETS: 27 s / 400 = 68 ms -> 100 ms.
      assert.ok((tl.endTs - tl.startTs) / tl.bucketS <= MAX_BUCKETS, `${tl.bucketS} s buckets over ${g.durationS} s`);
      assert.ok((tl.endTs - tl.startTs) / (tl.bucketS / 2) > MAX_BUCKETS / 2.5, 'the width is not needlessly coarse');
      const rows = store.db.prepare('SELECT * FROM state_timeline WHERE capture_id = 1 AND group_kind = ?').all(group) as SqlRow[];
      assertViewMatches(tl, rows, `generated by ${group}`);
      for (const s of tl.series) {
        assert.equal(s.points.length, Math.ceil((tl.endTs - tl.startTs - 1e-9) / tl.bucketS));
        for (const p of s.points) assert.ok(p.min <= p.count && p.count <= p.max, `${s.state} at ${p.t}`);
      }
    }
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Exact count of a series at instant t. */
function countAt(s: StateSeries, t: number): number {
  let c = 0;
  for (const p of s.points) {
    if (p.t > t) break;
    c = p.count;
  }
  return c;
}

test('buckets summarise the exact timeline: count at the bucket end, min and max within it', async () => {
  const store = FlowStore.open(':memory:');
  try {
    await ingestFiles(store, [fixture('nginx-closewait-pileup.pcap')]);
    const exact = readStateTimeline(store.db, { captureId: 1, everyS: 0 });
    const buckets = readStateTimeline(store.db, { captureId: 1, everyS: 5 });
    assert.equal(buckets.bucketS, 5);
    assert.deepEqual(buckets.series.map((s) => s.state), exact.series.map((s) => s.state));
    for (const b of buckets.series) {
      const e = exact.series.find((s) => s.state === b.state) as StateSeries;
      for (const p of b.points) {
        const end = Math.min(p.t + 5, exact.endTs);
        const inside = e.points.filter((x) => x.t > p.t && x.t < p.t + 5).map((x) => x.count);
        const levels = [countAt(e, p.t), ...inside];
        assert.equal(p.count, countAt(e, end - 1e-7), `${b.state} bucket ${p.t}: count at its end`);
        assert.equal(p.max, Math.max(...levels), `${b.state} bucket ${p.t}: max`);
        assert.equal(p.min, Math.min(...levels), `${b.state} bucket ${p.t}: min`);
      }
    }
  } finally {
    store.close();
  }
});

test('TIME_WAIT ends at its stored 2MSL expiry, or lasts to capture end', async () => {
  const truth = JSON.parse(fs.readFileSync(fixture('client-closes-first.json'), 'utf8')) as { client: string };
  for (const timeWaitUs of [60e6, 1e6]) {
    const store = FlowStore.open(':memory:');
    try {
      await ingestFiles(store, [fixture('client-closes-first.pcap')], { timeWaitUs });
      const tl = readStateTimeline(store.db, { captureId: 1, states: ['TIME_WAIT'], group: 'host' });
      assert.equal(tl.series.length, 1);
      assert.equal(tl.series[0].group, truth.client);
      const pts = tl.series[0].points;
      const stays = readStateStays(store.db, { captureId: 1, states: ['TIME_WAIT'] });
      assert.equal(stays.n, 3);
      if (timeWaitUs === 60e6) {
        // Every TIME_WAIT is younger than 60 s at capture end: counted to the end.
        assert.equal(pts[pts.length - 1].count, 3);
        for (let i = 0; i < stays.n; i++) assert.ok(Number.isNaN(stays.toUs[i]));
      } else {
        // 2*MSL = 1 s: each ends exactly 1 s after it began, and the count returns to 0.
        for (let i = 0; i < stays.n; i++) assert.equal(stays.toUs[i] - stays.fromUs[i], 1e6);
        assert.equal(pts[pts.length - 1].count, 0);
        assert.ok(pts.some((p) => p.count >= 1));
        const expiries = store.db.prepare("SELECT count(*) AS n FROM transitions WHERE cause = '2MSL expired'").get() as { n: number };
        assert.equal(expiries.n, 3);
      }
    } finally {
      store.close();
    }
  }
});

test('a live database counts up to captures.last_ts: later transitions are not counted yet', async () => {
  const store = FlowStore.open(':memory:');
  try {
    await ingestFiles(store, [fixture('nginx-closewait-pileup.pcap')]);
    const full = readStateTimeline(store.db, { captureId: 1, everyS: 0 });
    const cut = full.startTs + 50.5;
    // What a running capture's row looks like: last_ts = its newest flush, flows written with what they had by then.
    store.db.prepare('UPDATE captures SET last_ts = ?, completed = 0 WHERE id = 1').run(cut);
    const live = readStateTimeline(store.db, { captureId: 1, everyS: 0 });
    assert.equal(live.endTs, cut);
    assert.ok(live.series.length > 0);
    for (const s of live.series) {
      const f = full.series.find((x) => x.state === s.state) as StateSeries;
      assert.ok(s.points.every((p) => p.t <= cut));
      assert.deepEqual(s.points, f.points.filter((p) => p.t <= cut), s.state);
    }
    const cw = live.series.find((s) => s.state === 'CLOSE_WAIT') as StateSeries;
    assert.equal(countAt(cw, cut), countAt(full.series.find((s) => s.state === 'CLOSE_WAIT') as StateSeries, cut));
    assert.ok(countAt(cw, cut) > 0);
    // The SQL view follows the same end.
    const rows = store.db.prepare("SELECT * FROM state_timeline WHERE capture_id = 1 AND group_kind = 'all'").all() as SqlRow[];
    assertViewMatches(live, rows, 'cut at last_ts');
  } finally {
    store.close();
  }
});

test('filters: --state, --host and --port narrow the endpoints counted; unknown capture and bad widths are errors', async () => {
  const truth = JSON.parse(fs.readFileSync(fixture('nginx-closewait-pileup.json'), 'utf8')) as { client: string; server: string; connections: number[] };
  const store = FlowStore.open(':memory:');
  try {
    await ingestFiles(store, [fixture('nginx-closewait-pileup.pcap')]);
    const all = readStateTimeline(store.db, { captureId: 1 });
    const byServer = readStateTimeline(store.db, { captureId: 1, host: truth.server, port: 80 });
    assert.deepEqual(byServer.series, all.series, 'every flow touches the server on port 80');
    const none = readStateTimeline(store.db, { captureId: 1, host: '192.0.2.99' });
    assert.equal(none.series.length, 0);
    // One connection: no state ever holds more than its own two endpoints.
    const one = readStateTimeline(store.db, { captureId: 1, port: truth.connections[0] });
    assert.ok(one.series.length > 0);
    for (const s of one.series) assert.ok(Math.max(...s.points.map((p) => p.max)) <= 2, s.state);
    // Asked-for states are listed even when never entered; others are not.
    const asked = readStateTimeline(store.db, { captureId: 1, states: ['CLOSING', 'CLOSE_WAIT'] });
    assert.deepEqual(asked.series.map((s) => s.state), ['CLOSING', 'CLOSE_WAIT']);
    assert.deepEqual(asked.series[0].points, [{ t: all.startTs, count: 0, min: 0, max: 0 }]);
    const services = readStateTimeline(store.db, { captureId: 1, group: 'service' });
    assert.deepEqual([...new Set(services.series.map((s) => s.group))], [`${truth.server}:80`]);
    const hosts = readStateTimeline(store.db, { captureId: 1, group: 'host', maxGroups: 1 });
    assert.equal(hosts.groupsOmitted, 1);
    assert.equal(new Set(hosts.series.map((s) => s.group)).size, 1);
    assert.throws(() => readStateTimeline(store.db, { captureId: 9 }), UnknownCaptureError);
    assert.throws(() => readStateTimeline(store.db, { captureId: 1, everyS: -1 }), RangeError);
    assert.throws(() => readStateTimeline(store.db, { captureId: 1, everyS: 0.0001 }), /buckets over this capture/);
    assert.throws(() => readStateTimeline(store.db, { captureId: 1, states: ['CLOSED'] }), /not a counted state/);
  } finally {
    store.close();
  }
});

test('a database already past version 3 without its views (made while a later migration had landed first) gets them on the next writable open', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-migrate-'));
  const file = path.join(dir, 'w.db');
  try {
    let store = FlowStore.open(file);
    await ingestFiles(store, [fixture('client-closes-first.pcap')]);
    store.db.exec('DROP VIEW state_timeline; DROP VIEW timeline_resolution; DROP VIEW state_stays;');
    const version = store.db.pragma('user_version', { simple: true });
    store.close();
    store = FlowStore.open(file);
    assert.equal(store.db.pragma('user_version', { simple: true }), version);
    const rows = store.db.prepare("SELECT count(*) AS n FROM state_timeline WHERE capture_id = 1 AND group_kind = 'all'").get() as { n: number };
    assert.ok(rows.n > 0);
    store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
