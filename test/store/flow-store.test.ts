import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { FlowStore } from '../../src/store/flow-store';
import { StoreError } from '../../src/store/store-error';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema';
import { prepareOldFlowInsert } from '../helpers/old-flow-rows';
import { GET, HttpWire, OK } from '../app/http-wire';
import type { FlowRecord, DirectionStats, Transition } from '../../src/tcp/flow-record';

// Hand-built records: only for edge cases of the store itself (upsert,
// replacement of transitions, views' arithmetic). Real traffic is covered by
// the end-to-end tests in test/cli/.

function dir(): DirectionStats {
  return { packets: 3, bytes: 100, ipBytes: 260, retransmits: 1, outOfOrder: 0, keepalives: 0, zeroWindows: 0, windowScale: 7, mss: 1460 };
}

const T0 = 1_764_000_000_000_000; // µs

function closeWaitFlow(uid: number, over: Partial<FlowRecord> = {}): FlowRecord {
  const transitions: Transition[] = [
    { tsUs: T0, endpoint: 'orig', from: 'UNKNOWN', to: 'SYN_SENT', cause: 'sent SYN' },
    { tsUs: T0 + 100, endpoint: 'resp', from: 'UNKNOWN', to: 'SYN_RECEIVED', cause: 'sent SYN+ACK' },
    { tsUs: T0 + 200, endpoint: 'orig', from: 'SYN_SENT', to: 'ESTABLISHED', cause: 'recv SYN+ACK' },
    { tsUs: T0 + 300, endpoint: 'resp', from: 'SYN_RECEIVED', to: 'ESTABLISHED', cause: 'recv ACK' },
    { tsUs: T0 + 65_000_300, endpoint: 'resp', from: 'ESTABLISHED', to: 'FIN_WAIT_1', cause: 'sent FIN' },
    { tsUs: T0 + 65_000_400, endpoint: 'orig', from: 'ESTABLISHED', to: 'CLOSE_WAIT', cause: 'recv FIN' },
    { tsUs: T0 + 65_000_400, endpoint: 'resp', from: 'FIN_WAIT_1', to: 'FIN_WAIT_2', cause: 'FIN acked by peer' },
  ];
  return {
    uid,
    ipVersion: 4,
    origH: '10.77.1.2',
    origP: 40000 + uid,
    respH: '10.77.1.1',
    respP: 80,
    firstTsUs: T0,
    lastTsUs: T0 + 65_000_400,
    orig: dir(),
    resp: dir(),
    missedBytes: 0,
    lostBytes: 0,
    history: 'ShADadFf',
    connState: 'S1',
    midstream: false,
    origState: 'CLOSE_WAIT',
    respState: 'FIN_WAIT_2',
    origStateSinceUs: T0 + 65_000_400,
    respStateSinceUs: T0 + 65_000_400,
    firstFinBy: 'resp',
    firstFinTsUs: T0 + 65_000_300,
    idleBeforeFinUs: 65_000_000,
    firstFinAcked: true,
    peerFinSent: false,
    firstRstBy: null,
    closeKind: 'close_wait',
    finished: false,
    capturedOnly: null,
    origStateInferred: false,
    respStateInferred: false,
    closeKindInferred: false,
    vantage: 'resp',
    rttToOrigUs: 200,
    rttToRespUs: 100,
    transitions,
    communityId: '1:test',
    ...over,
  };
}

function tmpDb(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-store-'));
  return path.join(d, 'test.db');
}

const summary = (lastTsUs: number) => ({
  firstTsUs: T0,
  lastTsUs,
  packets: 10,
  tcpPackets: 9,
  bytes: 1000,
  anomalies: { truncated_header: 2, bad_tcp_offset: 0 },
  truncated: false,
});

test('a new database gets the current schema version, WAL mode and every documented table and view', () => {
  const file = tmpDb();
  const s = FlowStore.open(file);
  assert.equal(s.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
  const names = (s.db.prepare(`SELECT name, type FROM sqlite_schema WHERE type IN ('table','view') ORDER BY name`).all() as { name: string; type: string }[]).map(
    (r) => `${r.type}:${r.name}`,
  );
  for (const n of ['table:captures', 'table:flows', 'view:transitions', 'table:flow_transitions', 'table:transition_words', 'table:anomalies', 'table:socket_owners', 'view:close_wait', 'view:incomplete_closes', 'view:time_wait']) {
    assert.ok(names.includes(n), `${n} missing from ${names.join(' ')}`);
  }
  const cols = (s.db.prepare(`SELECT name FROM pragma_table_info('flows')`).all() as { name: string }[]).map((r) => r.name);
  for (const c of ['id', 'capture_id', 'uid', 'orig_h', 'orig_p', 'resp_h', 'resp_p', 'first_ts', 'last_ts', 'duration', 'missed_bytes', 'retransmissions', 'history', 'conn_state', 'orig_state', 'resp_state', 'orig_state_since', 'resp_state_since', 'first_fin_by', 'idle_before_fin', 'close_kind']) {
    assert.ok(cols.includes(c), `flows.${c} missing`);
  }
  s.close();
  // Reopening does not migrate again and keeps the data.
  const s2 = FlowStore.open(file);
  assert.equal(s2.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  s2.close();
});

test('writeFlows upserts by (capture, uid) and replaces transitions and owners', () => {
  const s = FlowStore.open(tmpDb());
  const cap = s.beginCapture({ source: 'eth0', kind: 'live' });
  const first = closeWaitFlow(1, { owners: [{ endpoint: 'orig', pid: 42, command: 'python3' }] });
  s.writeFlows(cap, [first, closeWaitFlow(2)]);
  assert.equal((s.db.prepare('SELECT count(*) n FROM flows').get() as { n: number }).n, 2);
  assert.equal((s.db.prepare('SELECT count(*) n FROM transitions').get() as { n: number }).n, 14);
  const id1 = (s.db.prepare('SELECT id FROM flows WHERE uid = 1').get() as { id: number }).id;

  // Later snapshot of flow 1: the client finally closed.
  const closed = closeWaitFlow(1, {
    origState: 'CLOSED',
    respState: 'TIME_WAIT',
    closeKind: 'normal',
    peerFinSent: true,
    lastTsUs: T0 + 90_000_000,
    owners: [],
    transitions: [...first.transitions, { tsUs: T0 + 90_000_000, endpoint: 'orig', from: 'CLOSE_WAIT', to: 'LAST_ACK', cause: 'sent FIN' }],
  });
  s.writeFlows(cap, [closed]);
  const row = s.db.prepare('SELECT id, orig_state, close_kind, duration FROM flows WHERE uid = 1').get() as { id: number; orig_state: string; close_kind: string; duration: number };
  assert.equal(row.id, id1, 'same row updated, id kept');
  assert.equal(row.orig_state, 'CLOSED');
  assert.equal(row.close_kind, 'normal');
  assert.equal(row.duration, 90);
  assert.equal((s.db.prepare('SELECT count(*) n FROM transitions WHERE flow_id = ?').get(id1) as { n: number }).n, 8);
  assert.equal((s.db.prepare('SELECT count(*) n FROM socket_owners WHERE flow_id = ?').get(id1) as { n: number }).n, 0);
  // Per-flow anomalies are replaced with the flow, not added up.
  assert.deepEqual(s.db.prepare('SELECT name, count FROM anomalies WHERE flow_id = ?').all(id1), [{ name: 'tcp_retransmission', count: 2 }]);
  assert.equal((s.db.prepare('SELECT count(*) n FROM anomalies').get() as { n: number }).n, 2);
  // The engine's own per-flow anomalies are stored by name.
  s.writeFlows(cap, [{ ...closed, anomalies: { rst_out_of_window: 3, fin_implied_by_ack: 1 } }]);
  assert.deepEqual(
    s.db.prepare('SELECT name, count FROM anomalies WHERE flow_id = ? ORDER BY name').all(id1),
    [{ name: 'fin_implied_by_ack', count: 1 }, { name: 'rst_out_of_window', count: 3 }, { name: 'tcp_retransmission', count: 2 }],
  );
  assert.equal((s.db.prepare('SELECT count(*) n FROM flows').get() as { n: number }).n, 2);

  // The file-ingest fast path (plain INSERT) still updates a flow that exists.
  s.writeFlows(cap, [closeWaitFlow(2, { closeKind: 'reset_after_half_close', transitions: first.transitions.slice(0, 2) }), closeWaitFlow(3)], { fresh: true });
  const id2 = (s.db.prepare('SELECT id FROM flows WHERE uid = 2').get() as { id: number }).id;
  assert.equal((s.db.prepare('SELECT close_kind FROM flows WHERE id = ?').get(id2) as { close_kind: string }).close_kind, 'reset_after_half_close');
  assert.equal((s.db.prepare('SELECT count(*) n FROM transitions WHERE flow_id = ?').get(id2) as { n: number }).n, 2);
  assert.equal((s.db.prepare('SELECT count(*) n FROM flows').get() as { n: number }).n, 3);
  s.close();
});

test('many transitions in one call are all stored, in order (multi-row insert blocks plus remainder)', () => {
  const s = FlowStore.open(tmpDb());
  const cap = s.beginCapture({ source: 'x', kind: 'file' });
  const flows = Array.from({ length: 50 }, (_, i) => closeWaitFlow(i + 1));
  s.writeFlows(cap, flows, { fresh: true });
  assert.equal((s.db.prepare('SELECT count(*) n FROM transitions').get() as { n: number }).n, 50 * 7);
  const rows = s.db.prepare('SELECT f.uid, t.to_state FROM transitions t JOIN flows f ON f.id = t.flow_id ORDER BY f.uid, t.seq').all() as { uid: number; to_state: string }[];
  const expected = flows.flatMap((f) => f.transitions.map((t) => ({ uid: f.uid, to_state: t.to })));
  assert.deepEqual(rows, expected);
  s.close();
});

test('close_wait view: stuck side, peer and stuck time measured to the capture end', () => {
  const s = FlowStore.open(tmpDb());
  const cap = s.beginCapture({ source: 'x.pcap', kind: 'file', sha256: 'ab' });
  s.writeFlows(cap, [closeWaitFlow(1), closeWaitFlow(2, { closeKind: 'normal', origState: 'CLOSED', respState: 'TIME_WAIT' })]);
  s.endCapture(cap, summary(T0 + 365_000_400));
  const rows = s.db.prepare('SELECT * FROM close_wait').all() as Record<string, unknown>[];
  assert.equal(rows.length, 1);
  const r = rows[0];
  assert.equal(r.stuck_side, 'orig');
  assert.equal(r.stuck_h, '10.77.1.2');
  assert.equal(r.stuck_p, 40001);
  assert.equal(r.peer_h, '10.77.1.1');
  assert.equal(r.peer_p, 80);
  assert.equal(r.peer_state, 'FIN_WAIT_2');
  assert.ok(Math.abs((r.stuck_s as number) - 300) < 1e-6, `stuck_s ${r.stuck_s}`);
  const inc = s.db.prepare('SELECT flow_id, close_kind, closer_h, closer_p FROM incomplete_closes').all() as Record<string, unknown>[];
  assert.deepEqual(inc.map((x) => [x.close_kind, x.closer_h, x.closer_p]), [['close_wait', '10.77.1.1', 80]]);
  const an = s.db.prepare('SELECT name, count FROM anomalies WHERE capture_id = ? AND flow_id IS NULL').all(cap);
  assert.deepEqual(an, [{ name: 'truncated_header', count: 2 }], 'zero counters are not stored');
  const c = s.db.prepare('SELECT flows, completed, last_ts - first_ts AS span FROM captures WHERE id = ?').get(cap) as Record<string, number>;
  assert.equal(c.flows, 2);
  assert.equal(c.completed, 1);
  s.close();
});

test('time_wait view lists endpoints that entered TIME_WAIT and whether they closed first', () => {
  const s = FlowStore.open(tmpDb());
  const cap = s.beginCapture({ source: 'x.pcap', kind: 'file' });
  const base = closeWaitFlow(1);
  const tw = closeWaitFlow(1, {
    origState: 'CLOSED',
    respState: 'TIME_WAIT',
    closeKind: 'normal',
    peerFinSent: true,
    finished: true,
    transitions: [
      ...base.transitions,
      { tsUs: T0 + 66_000_000, endpoint: 'orig', from: 'CLOSE_WAIT', to: 'LAST_ACK', cause: 'sent FIN' },
      { tsUs: T0 + 66_000_100, endpoint: 'resp', from: 'FIN_WAIT_2', to: 'TIME_WAIT', cause: 'recv FIN' },
      { tsUs: T0 + 66_000_100, endpoint: 'orig', from: 'LAST_ACK', to: 'CLOSED', cause: 'FIN acked by peer' },
    ],
  });
  s.writeFlows(cap, [tw]);
  s.endCapture(cap, summary(T0 + 70_000_000));
  const rows = s.db.prepare('SELECT endpoint, tw_h, tw_p, peer_h, at_end, closed_first FROM time_wait').all();
  assert.deepEqual(rows, [{ endpoint: 'resp', tw_h: '10.77.1.1', tw_p: 80, peer_h: '10.77.1.2', at_end: 1, closed_first: 1 }]);
  s.close();
});

test('an open transaction that is rolled back leaves nothing behind', () => {
  const file = tmpDb();
  const s = FlowStore.open(file);
  s.beginTransaction();
  const cap = s.beginCapture({ source: 'x.pcap', kind: 'file' });
  s.writeFlows(cap, [closeWaitFlow(1)]);
  s.rollback();
  assert.equal((s.db.prepare('SELECT count(*) n FROM captures').get() as { n: number }).n, 0);
  assert.equal((s.db.prepare('SELECT count(*) n FROM flows').get() as { n: number }).n, 0);
  s.close();
});

test('read-only open: missing file, foreign database, newer and older schema, and writes refused', () => {
  const missing = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ws-store-')), 'nope.db');
  assert.throws(() => FlowStore.open(missing, { readonly: true }), (e: unknown) => e instanceof StoreError && e.code === 'missing' && e.message.includes('nope.db'));
  assert.equal(fs.existsSync(missing), false, 'a read-only open must not create the file');

  const foreign = tmpDb();
  const raw = new Database(foreign);
  raw.exec('CREATE TABLE t (x)');
  raw.close();
  assert.throws(() => FlowStore.open(foreign), (e: unknown) => e instanceof StoreError && e.code === 'not_wirestate');

  const newer = tmpDb();
  const raw2 = new Database(newer);
  raw2.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw2.close();
  assert.throws(() => FlowStore.open(newer), (e: unknown) => e instanceof StoreError && e.code === 'too_new');

  // An older schema: read-only opens never migrate, they say how to upgrade; a writable open does.
  const older = tmpDb();
  const raw3 = new Database(older);
  raw3.exec(MIGRATIONS[0].sql);
  raw3.pragma('user_version = 1');
  raw3.close();
  assert.throws(
    () => FlowStore.open(older, { readonly: true }),
    (e: unknown) => e instanceof StoreError && e.code === 'too_old' && e.message === `${older}: database schema version 1 is older than ${SCHEMA_VERSION}; run wirestate ingest on it once to upgrade`,
  );
  FlowStore.open(older).close();
  FlowStore.open(older, { readonly: true }).close();

  const good = tmpDb();
  FlowStore.open(good).close();
  const ro = FlowStore.open(good, { readonly: true });
  assert.throws(() => ro.db.prepare(`INSERT INTO captures (source, kind, ingested_at) VALUES ('a', 'file', 0)`).run(), /readonly|read-only/i);
  ro.close();
});

test('findFile finds a file by content hash', () => {
  const s = FlowStore.open(tmpDb());
  const cap = s.beginCapture({ source: 'a.pcap', kind: 'file' });
  s.addCaptureFile(cap, 0, { path: 'a.pcap', sha256: 'deadbeef', format: 'pcap', size: 10, packets: 1, firstTsUs: T0, lastTsUs: T0, truncated: false, damage: null });
  assert.deepEqual(s.findFile('deadbeef'), { captureId: cap, path: 'a.pcap' });
  assert.equal(s.findFile('feed'), undefined);
  assert.throws(() => s.addCaptureFile(cap, 1, { path: 'b.pcap', sha256: 'deadbeef', format: 'pcap', size: 10, packets: 1, firstTsUs: T0, lastTsUs: T0, truncated: false, damage: null }), /UNIQUE/);
  s.close();
});

test('updateCaptureProgress: a running live capture’s end moves with the flushes, so close_wait.stuck_s grows while the flow is silent', () => {
  const file = tmpDb();
  const s = FlowStore.open(file);
  const cap = s.beginCapture({ source: 'live:eth0', kind: 'live', startedTsUs: T0 - 1_000_000 });
  s.writeFlows(cap, [closeWaitFlow(1)]);
  const stuck = () => (s.db.prepare('SELECT stuck_s FROM close_wait WHERE capture_id = ?').get(cap) as { stuck_s: number }).stuck_s;
  // Before any progress the end falls back to the newest flow's last packet: stuck for 0 s.
  assert.ok(Math.abs(stuck()) < 1e-6);

  assert.equal(s.updateCaptureProgress(cap, { lastTsUs: T0 + 75_000_400, packets: 7, tcpPackets: 7, bytes: 900, firstTsUs: T0 }), true);
  assert.ok(Math.abs(stuck() - 10) < 1e-6, `stuck_s ${stuck()}`);
  // The flow is not rewritten (nothing happened on it); the next flush moves only the capture's end.
  assert.equal(s.updateCaptureProgress(cap, { lastTsUs: T0 + 95_000_400, packets: 8, tcpPackets: 8, bytes: 960 }), true);
  assert.ok(Math.abs(stuck() - 30) < 1e-6, `stuck_s ${stuck()}`);

  // Another connection (a reader, as report/query are) sees the same while the capture is running.
  const reader = new Database(file, { readonly: true });
  try {
    const row = reader.prepare('SELECT c.completed, c.packets, c.tcp_packets, c.bytes, c.first_ts, e.end_ts FROM captures c JOIN capture_end e ON e.capture_id = c.id').get() as Record<string, number>;
    assert.equal(row.completed, 0, 'still running');
    assert.equal(row.packets, 8);
    assert.equal(row.tcp_packets, 8);
    assert.equal(row.bytes, 960);
    assert.equal(row.first_ts, T0 / 1e6, 'first packet kept from the earlier progress');
    assert.equal(row.end_ts, (T0 + 95_000_400) / 1e6);
  } finally {
    reader.close();
  }

  // A completed capture is never changed by a late progress report.
  s.endCapture(cap, summary(T0 + 100_000_400));
  assert.equal(s.updateCaptureProgress(cap, { lastTsUs: T0 + 999_000_000, packets: 1, tcpPackets: 1, bytes: 1 }), false);
  const end = s.db.prepare('SELECT last_ts, packets, completed FROM captures WHERE id = ?').get(cap) as Record<string, number>;
  assert.deepEqual(end, { last_ts: (T0 + 100_000_400) / 1e6, packets: 10, completed: 1 });
  assert.equal(s.updateCaptureProgress(cap + 1, { lastTsUs: T0, packets: 1, tcpPackets: 1, bytes: 1 }), false, 'no such capture');
  s.close();
});

test('transitions view: exactly the v1 columns, ts the same REAL as tsUs / 1e6, seq from 0', () => {
  const s = FlowStore.open(tmpDb());
  const cap = s.beginCapture({ source: 'x', kind: 'file' });
  const f = closeWaitFlow(1);
  // Timestamps that do not divide evenly, and a cause that needs JSON escaping.
  f.transitions[1] = { ...f.transitions[1], tsUs: 1_764_000_000_123_457 };
  f.transitions[6] = { ...f.transitions[6], cause: 'odd "cause", with \\ and \u00e9' };
  s.writeFlows(cap, [f, closeWaitFlow(2, { transitions: [] })], { fresh: true });
  const cols = (s.db.prepare(`SELECT name FROM pragma_table_info('transitions')`).all() as { name: string }[]).map((r) => r.name);
  assert.deepEqual(cols, ['flow_id', 'seq', 'ts', 'endpoint', 'from_state', 'to_state', 'cause']);
  const id1 = (s.db.prepare('SELECT id FROM flows WHERE uid = 1').get() as { id: number }).id;
  const rows = s.db.prepare('SELECT * FROM transitions ORDER BY flow_id, seq').all();
  assert.deepEqual(
    rows,
    f.transitions.map((t, i) => ({ flow_id: id1, seq: i, ts: t.tsUs / 1e6, endpoint: t.endpoint, from_state: t.from, to_state: t.to, cause: t.cause })),
  );
  assert.equal((s.db.prepare('SELECT count(*) n FROM flow_transitions').get() as { n: number }).n, 1, 'a flow without transitions has no row');
  s.close();
});

test('the same flow twice in one live batch keeps its newest timeline; a rollback forgets the word ids it added', () => {
  const s = FlowStore.open(tmpDb());
  const cap = s.beginCapture({ source: 'live:eth0', kind: 'live' });
  const first = closeWaitFlow(1);
  const later = closeWaitFlow(1, { transitions: [...first.transitions, { tsUs: T0 + 90_000_000, endpoint: 'orig', from: 'CLOSE_WAIT', to: 'LAST_ACK', cause: 'sent FIN' }] });
  s.writeFlows(cap, [first, later]);
  assert.deepEqual(
    (s.db.prepare('SELECT to_state FROM transitions ORDER BY seq').all() as { to_state: string }[]).map((r) => r.to_state),
    later.transitions.map((t) => t.to),
  );

  // A word first used inside a transaction that is rolled back is gone from the table: it must be added again.
  s.beginTransaction();
  s.writeFlows(cap, [closeWaitFlow(2, { transitions: [{ tsUs: T0, endpoint: 'resp', from: 'UNKNOWN', to: 'CLOSED', cause: 'brand-new cause' }] })]);
  s.rollback();
  s.writeFlows(cap, [closeWaitFlow(3, { transitions: [{ tsUs: T0, endpoint: 'resp', from: 'UNKNOWN', to: 'CLOSED', cause: 'brand-new cause' }] })]);
  assert.deepEqual(s.db.prepare('SELECT f.uid, t.cause FROM transitions t JOIN flows f ON f.id = t.flow_id WHERE t.cause = ?').all('brand-new cause'), [
    { uid: 3, cause: 'brand-new cause' },
  ]);

  // A second connection to the same file shares the word table.
  s.close();
  const a = FlowStore.open(s.file);
  const b = FlowStore.open(s.file);
  const capA = a.beginCapture({ source: 'a', kind: 'live' });
  a.writeFlows(capA, [closeWaitFlow(1, { transitions: [{ tsUs: T0, endpoint: 'orig', from: 'UNKNOWN', to: 'SYN_SENT', cause: 'cause from a' }] })]);
  b.writeFlows(capA, [closeWaitFlow(2, { transitions: [{ tsUs: T0, endpoint: 'orig', from: 'UNKNOWN', to: 'SYN_SENT', cause: 'cause from a' }] })]);
  assert.equal((b.db.prepare(`SELECT count(*) n FROM transitions WHERE cause = 'cause from a'`).get() as { n: number }).n, 2);
  assert.equal((b.db.prepare(`SELECT count(*) n FROM transition_words WHERE word = 'cause from a'`).get() as { n: number }).n, 1);
  a.close();
  b.close();
});

test('migration 2 converts a version-1 database: transitions, time_wait and the report queries give the same rows', () => {
  const file = tmpDb();
  // A version-1 database as the v1 code wrote it: migration 1 only, rows inserted through SQL.
  const v1 = new Database(file);
  v1.exec(MIGRATIONS[0].sql);
  v1.pragma('user_version = 1');
  v1.exec(`INSERT INTO captures (id, source, kind, first_ts, last_ts, ingested_at, completed) VALUES (1, 'old.pcap', 'file', 1764000000.0, 1764000100.0, 0, 1)`);
  const insFlow = prepareOldFlowInsert(v1);
  insFlow.run(10, 1, 40001, 'TIME_WAIT', 'CLOSED', 'orig', 'normal');
  insFlow.run(11, 2, 40002, 'CLOSE_WAIT', 'FIN_WAIT_2', 'resp', 'close_wait');
  insFlow.run(12, 3, 40003, 'SYN_SENT', 'UNKNOWN', null, 'no_reply');
  const insT = v1.prepare('INSERT INTO transitions (flow_id, seq, ts, endpoint, from_state, to_state, cause) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const v1Rows: [number, number, number, string, string, string, string][] = [
    [10, 0, 1764000000.000001, 'orig', 'UNKNOWN', 'SYN_SENT', 'sent SYN'],
    [10, 1, 1764000000.123457, 'resp', 'UNKNOWN', 'SYN_RECEIVED', 'sent SYN+ACK'],
    [10, 2, 1764000000.2, 'orig', 'SYN_SENT', 'ESTABLISHED', 'recv SYN+ACK'],
    [10, 3, 1764000065.999999, 'orig', 'ESTABLISHED', 'FIN_WAIT_1', 'sent FIN'],
    [10, 4, 1764000066.0, 'orig', 'FIN_WAIT_2', 'TIME_WAIT', 'recv FIN'],
    [10, 5, 1764000066.0, 'resp', 'LAST_ACK', 'CLOSED', 'FIN acked'],
    [11, 0, 1764000001.5, 'orig', 'UNKNOWN', 'SYN_SENT', 'sent SYN'],
    [11, 1, 1764000066.25, 'orig', 'ESTABLISHED', 'CLOSE_WAIT', 'recv FIN'],
  ];
  // Inserted out of order: seq decides the order, not the rowid.
  for (const r of [...v1Rows].reverse()) insT.run(...r);
  const query = 'SELECT flow_id, seq, ts, endpoint, from_state, to_state, cause FROM transitions ORDER BY flow_id, seq';
  const before = v1.prepare(query).all();
  const twBefore = v1.prepare('SELECT * FROM time_wait ORDER BY flow_id, endpoint').all();
  v1.close();
  assert.equal(twBefore.length, 1);

  const s = FlowStore.open(file);
  assert.equal(s.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  const kinds = s.db.prepare(`SELECT name, type FROM sqlite_schema WHERE name IN ('transitions', 'flow_transitions', 'time_wait', 'transitions_time_wait') ORDER BY name`).all();
  assert.deepEqual(kinds, [
    { name: 'flow_transitions', type: 'table' },
    { name: 'time_wait', type: 'view' },
    { name: 'transitions', type: 'view' },
  ]);
  assert.deepEqual(s.db.prepare(query).all(), before, 'every row, ts to the last bit');
  assert.deepEqual(s.db.prepare('SELECT * FROM time_wait ORDER BY flow_id, endpoint').all(), twBefore);
  assert.deepEqual(s.db.prepare('SELECT flow_id, time_wait FROM flow_transitions ORDER BY flow_id').all(), [
    { flow_id: 10, time_wait: 1 },
    { flow_id: 11, time_wait: 0 },
  ]);
  // The report's per-flow queries.
  assert.deepEqual(s.db.prepare(`SELECT max(ts) AS t FROM transitions WHERE flow_id = ? AND to_state = 'FIN_WAIT_1'`).get(10), { t: 1764000065.999999 });

  // New flows written after the upgrade reuse the migrated words.
  const cap = s.beginCapture({ source: 'new.pcap', kind: 'file' });
  s.writeFlows(cap, [closeWaitFlow(1)], { fresh: true });
  assert.equal((s.db.prepare(`SELECT count(*) n FROM transition_words WHERE word = 'sent SYN'`).get() as { n: number }).n, 1);
  assert.equal((s.db.prepare('SELECT count(*) n FROM transitions').get() as { n: number }).n, v1Rows.length + 7);
  // Deleting a flow still takes its timeline with it.
  s.db.prepare('DELETE FROM flows WHERE id = 10').run();
  assert.equal((s.db.prepare('SELECT count(*) n FROM transitions WHERE flow_id = 10').get() as { n: number }).n, 0);
  s.close();
});

test('a bulk ingest into empty tables builds their indexes at commit; a rollback or a table with rows keeps them', () => {
  const file = tmpDb();
  const s = FlowStore.open(file);
  const indexes = () =>
    (s.db.prepare(`SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name`).all() as { name: string; sql: string | null }[]).map(
      (r) => `${r.name}: ${r.sql}`,
    );
  const before = indexes();
  assert.ok(before.some((i) => i.startsWith('flows_orig:')) && before.some((i) => i.startsWith('flow_transitions_time_wait:')));

  // Rolled back: everything as before, foreign keys enforced again.
  s.beginTransaction({ bulk: true });
  assert.ok(!indexes().some((i) => i.startsWith('flows_orig:')), 'dropped while loading');
  assert.equal(s.db.pragma('foreign_keys', { simple: true }), 0);
  s.writeFlows(s.beginCapture({ source: 'x.pcap', kind: 'file' }), [closeWaitFlow(1)], { fresh: true });
  s.rollback();
  assert.deepEqual(indexes(), before);
  assert.equal(s.db.pragma('foreign_keys', { simple: true }), 1);

  // Committed: the same indexes, holding every row, and used by the planner.
  s.beginTransaction({ bulk: true });
  const cap = s.beginCapture({ source: 'x.pcap', kind: 'file' });
  s.writeFlows(cap, [closeWaitFlow(1), closeWaitFlow(2), closeWaitFlow(3)], { fresh: true });
  s.endCapture(cap, summary(T0 + 70_000_000));
  s.commit();
  assert.deepEqual(indexes(), before);
  assert.equal(s.db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal((s.db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
  const plan = (s.db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM flows WHERE orig_h = '10.77.1.2' AND orig_p = 40002`).all() as { detail: string }[])
    .map((r) => r.detail)
    .join(' ');
  assert.match(plan, /flows_orig/);
  assert.equal((s.db.prepare(`SELECT count(*) AS n FROM flows INDEXED BY flows_orig WHERE orig_h = '10.77.1.2'`).get() as { n: number }).n, 3);

  // Tables with rows keep their indexes during the next bulk ingest.
  s.beginTransaction({ bulk: true });
  assert.deepEqual(indexes(), before);
  s.rollback();
  s.close();
});

test('every flows column holds the FlowRecord field it documents (distinct values, so a swapped column shows)', () => {
  const s = FlowStore.open(tmpDb());
  const cap = s.beginCapture({ source: 'x.pcap', kind: 'file' });
  const orig: DirectionStats = { packets: 11, bytes: 12, ipBytes: 13, retransmits: 14, outOfOrder: 15, keepalives: 16, zeroWindows: 17, windowScale: 7, mss: 1400 };
  const resp: DirectionStats = { packets: 21, bytes: 22, ipBytes: 23, retransmits: 24, outOfOrder: 25, keepalives: 26, zeroWindows: 27, windowScale: 9, mss: 1380 };
  const f = closeWaitFlow(77, {
    ipVersion: 6,
    origH: '2001:db8::2',
    origP: 40123,
    respH: '2001:db8::1',
    respP: 8080,
    firstTsUs: T0 + 1,
    lastTsUs: T0 + 3_500_002,
    orig,
    resp,
    missedBytes: 40,
    lostBytes: 31,
    history: 'ShADadFfR',
    connState: 'RSTR',
    midstream: true,
    origState: 'CLOSED',
    respState: 'LAST_ACK',
    origStateSinceUs: T0 + 2_000_003,
    respStateSinceUs: T0 + 2_500_004,
    firstFinBy: 'orig',
    firstFinTsUs: T0 + 1_000_005,
    idleBeforeFinUs: 900_006,
    firstFinAcked: true,
    peerFinSent: false,
    firstRstBy: 'resp',
    closeKind: 'reset_after_half_close',
    finished: true,
    capturedOnly: 'resp',
    origStateInferred: true,
    respStateInferred: false,
    closeKindInferred: true,
    vantage: 'between',
    rttToOrigUs: 3_000_045,
    rttToRespUs: 4_000_046,
  });
  s.writeFlows(cap, [f], { fresh: true });
  const row = s.db.prepare('SELECT * FROM flows WHERE uid = 77').get() as Record<string, unknown>;
  const sec = (us: number) => us / 1e6;
  assert.deepEqual(
    { ...row, id: undefined },
    {
      id: undefined,
      capture_id: cap,
      uid: 77,
      ip_version: 6,
      orig_h: '2001:db8::2',
      orig_p: 40123,
      resp_h: '2001:db8::1',
      resp_p: 8080,
      first_ts: sec(T0 + 1),
      last_ts: sec(T0 + 3_500_002),
      duration: 3.500001,
      orig_pkts: 11,
      orig_bytes: 12,
      orig_ip_bytes: 13,
      resp_pkts: 21,
      resp_bytes: 22,
      resp_ip_bytes: 23,
      missed_bytes: 40,
      retransmissions: 38,
      orig_retransmissions: 14,
      resp_retransmissions: 24,
      orig_out_of_order: 15,
      resp_out_of_order: 25,
      orig_keepalives: 16,
      resp_keepalives: 26,
      orig_zero_windows: 17,
      resp_zero_windows: 27,
      orig_wscale: 7,
      resp_wscale: 9,
      orig_mss: 1400,
      resp_mss: 1380,
      history: 'ShADadFfR',
      conn_state: 'RSTR',
      midstream: 1,
      orig_state: 'CLOSED',
      resp_state: 'LAST_ACK',
      orig_state_since: sec(T0 + 2_000_003),
      resp_state_since: sec(T0 + 2_500_004),
      first_fin_by: 'orig',
      first_fin_ts: sec(T0 + 1_000_005),
      idle_before_fin: 0.900006,
      first_fin_acked: 1,
      peer_fin_sent: 0,
      first_rst_by: 'resp',
      close_kind: 'reset_after_half_close',
      finished: 1,
      captured_only: 'resp',
      orig_state_inferred: 1,
      resp_state_inferred: 0,
      close_kind_inferred: 1,
      vantage: 'between',
      rtt_to_orig: 3.000045,
      rtt_to_resp: 4.000046,
      community_id: '1:test',
    },
  );
  // Unknown options and absent FIN/RST are NULL, not -1 / 0.
  s.writeFlows(cap, [closeWaitFlow(78, { orig: { ...orig, windowScale: -1, mss: 0 }, firstFinBy: null, firstFinTsUs: null, idleBeforeFinUs: null })], { fresh: true });
  assert.deepEqual(s.db.prepare('SELECT orig_wscale, orig_mss, resp_wscale, first_fin_by, first_fin_ts, idle_before_fin, first_rst_by FROM flows WHERE uid = 78').get(), {
    orig_wscale: null,
    orig_mss: null,
    resp_wscale: 7,
    first_fin_by: null,
    first_fin_ts: null,
    idle_before_fin: null,
    first_rst_by: null,
  });
  const anomalies = s.db.prepare('SELECT name, count FROM anomalies WHERE flow_id = (SELECT id FROM flows WHERE uid = 77) ORDER BY name').all();
  assert.deepEqual(anomalies, [
    { name: 'tcp_midstream_pickup', count: 1 },
    { name: 'tcp_missed_bytes', count: 31 },
    { name: 'tcp_out_of_order', count: 40 },
    { name: 'tcp_retransmission', count: 38 },
    { name: 'tcp_zero_window', count: 44 },
  ]);
  s.close();
});

test('a fresh batch written by multi-row flows INSERTs gives the rows, ids included, of the row-by-row path; a block that meets existing flows falls back to updating them', () => {
  const http = (() => {
    const w = new HttpWire().handshake(0);
    w.send('c', GET('/a'), { atMs: 10 }).send('s', OK('hello'), { atMs: 12 });
    return w.only().http;
  })();
  // 150 flows: blocks of 64, 64, 16, 4 and 2 rows; owners, extra anomalies, HTTP facts and empty timelines here and there.
  const flows = Array.from({ length: 150 }, (_, i) =>
    closeWaitFlow(i + 1, {
      ...(i % 3 === 0 ? { owners: [{ endpoint: 'resp' as const, pid: 100 + i, command: `srv${i % 2}` }] } : {}),
      ...(i % 5 === 0 ? { anomalies: { rst_out_of_window: i } } : {}),
      ...(i % 7 === 0 ? { transitions: [] } : {}),
      ...(i % 4 === 0 && http ? { http } : {}),
      orig: { ...dir(), retransmits: i % 2, zeroWindows: i % 11 === 0 ? 1 : 0 },
      firstFinBy: i % 6 === 0 ? null : 'resp',
    }),
  );
  const dump = (s: FlowStore) =>
    ['flows', 'flow_transitions', 'transition_words', 'anomalies', 'socket_owners', 'http_flows'].map((t) => [
      t,
      s.db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).raw().all(),
    ]);
  const write = (batches: FlowRecord[][], fresh: boolean) => {
    const s = FlowStore.open(':memory:');
    s.beginTransaction({ bulk: true });
    const cap = s.beginCapture({ source: 'x.pcap', kind: 'file' });
    for (const b of batches) s.writeFlows(cap, b, { fresh });
    s.commit();
    const rows = dump(s);
    s.close();
    return rows;
  };
  const rowByRow = write([flows], false);
  assert.equal((rowByRow[0][1] as unknown[]).length, 150);
  assert.deepEqual(write([flows], true), rowByRow);
  // Flows 40-59 written before: the first block (uids 1-64) conflicts and is written flow by flow, updating them.
  const again = flows.slice(39, 59).map((f) => ({ ...f, closeKind: 'open' as const, transitions: f.transitions.slice(0, 3), owners: [] }));
  const conflicted = write([again, flows], true);
  assert.deepEqual(conflicted, write([again, flows], false));
  const f = conflicted[0][1] as unknown[][];
  assert.equal(f.length, 150);
  assert.deepEqual(
    f.slice(0, 3).map((r) => [r[0], r[2]]),
    [
      [1, 40],
      [2, 41],
      [3, 42],
    ],
    'the updated flows keep their ids',
  );
});
