import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { FlowStore } from '../../src/store/flow-store';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema';
import { GET, HttpWire, OK } from '../app/http-wire';
import { prepareOldFlowInsert } from '../helpers/old-flow-rows';

test('HTTP facts are written beside the flow in the same transaction: http_flows and one http_exchanges row per exchange', () => {
  const w = new HttpWire().handshake(0);
  w.send('c', GET('/a'), { atMs: 10 }).send('s', OK('hello'), { atMs: 12 });
  w.send('c', `POST /b HTTP/1.1\r\nHost: api.example\r\nContent-Length: 3\r\n\r\nabc`, { atMs: 1500 });
  w.send('s', 'HTTP/1.1 201 Created\r\nKeep-Alive: timeout=5, max=99\r\nContent-Length: 0\r\n\r\n', { atMs: 1501 });
  const rec = w.only();
  const store = FlowStore.open(':memory:');
  try {
    const cap = store.beginCapture({ source: 't', kind: 'file' });
    store.writeFlows(cap, [rec]);
    const id = (store.db.prepare('SELECT id FROM flows').get() as { id: number }).id;
    const h = store.db.prepare('SELECT * FROM http_flows WHERE flow_id = ?').get(id) as Record<string, unknown>;
    assert.equal(h.protocol, 'http');
    assert.equal(h.requests, 2);
    assert.equal(h.responses, 2);
    assert.equal(h.user_agent, 'test-agent/1.0');
    assert.equal(h.server, 'test-server/2.1');
    assert.equal(h.host, 'api.example');
    assert.equal(h.keepalive_timeout, 5);
    assert.equal(h.keepalive_max, 99);
    assert.equal(h.close_kind, null);
    assert.ok(Math.abs((h.longest_reuse_idle as number) - 1.488) < 1e-9);
    const x = store.db.prepare('SELECT * FROM http_exchanges WHERE flow_id = ? ORDER BY seq').all(id) as Record<string, unknown>[];
    assert.equal(x.length, 2);
    assert.deepEqual(
      x.map((r) => [r.method, r.status, r.request_body_bytes, r.response_body_bytes]),
      [
        ['GET', 200, 0, 5],
        ['POST', 201, 3, 0],
      ],
    );
    const t0 = rec.http!.exchanges[1].requestTsUs! / 1e6;
    assert.ok(Math.abs((x[1].request_ts as number) - t0) < 1e-6, 'exchange times are Unix seconds');
    // Written again (a live upsert): the row is replaced, not duplicated.
    store.writeFlows(cap, [rec]);
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM http_flows').get() as { n: number }).n, 1);
    // Deleting the capture removes the facts with the flow.
    store.db.prepare('DELETE FROM captures WHERE id = ?').run(cap);
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM http_flows').get() as { n: number }).n, 0);
  } finally {
    store.close();
  }
});

/** One answered GET, then after 2 s idle a second one the server resets (no FIN): an RST race. */
function rstRace(): HttpWire {
  const w = new HttpWire().handshake(0);
  w.send('c', GET('/1'), { atMs: 10 }).send('s', OK('one'), { atMs: 11 }).ack('c', 12);
  return w.send('c', GET('/2'), { atMs: 2020 }).rst('s', 2045);
}

test('a new database stores the race signal: rst with its delay and no FIN delay, fin with both', () => {
  const store = FlowStore.open(':memory:');
  try {
    const fin = new HttpWire().handshake(0);
    fin.send('c', GET('/1'), { atMs: 10 }).send('s', OK('one'), { atMs: 11 }).ack('c', 12);
    fin.fin('s', 5011).ack('c', 5012).send('c', GET('/2'), { atMs: 5013 }).rst('s', 5014);
    // One capture each: both wires number their flow 1.
    store.writeFlows(store.beginCapture({ source: 'rst', kind: 'file' }), [rstRace().only()]);
    store.writeFlows(store.beginCapture({ source: 'fin', kind: 'file' }), [fin.only()]);
    const rows = store.db.prepare('SELECT close_kind, race_signal, signal_to_request, fin_to_request FROM http_flows ORDER BY flow_id').all();
    assert.deepEqual(rows, [
      { close_kind: 'keepalive_race', race_signal: 'rst', signal_to_request: -0.025, fin_to_request: null },
      { close_kind: 'keepalive_race', race_signal: 'fin', signal_to_request: 0.002, fin_to_request: 0.002 },
    ]);
  } finally {
    store.close();
  }
});

test('migration 8 upgrades a version-7 database: its races were FIN races and get fin and their delay; other rows stay NULL', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-mig8-'));
  const file = path.join(dir, 'v7.db');
  try {
    // A version-7 database as the v7 code wrote it: migrations 1-7, rows inserted through SQL.
    const v7 = new Database(file);
    for (const m of MIGRATIONS.filter((x) => x.version <= 7)) v7.exec(m.sql);
    v7.pragma('user_version = 7');
    v7.exec(`INSERT INTO captures (id, source, kind, first_ts, last_ts, ingested_at, completed) VALUES (1, 'old.pcap', 'file', 1764000000.0, 1764000010.0, 0, 1)`);
    const insFlow = prepareOldFlowInsert(v7);
    insFlow.run(1, 1, 40001, 'CLOSED', 'CLOSED', 'resp', 'reset_after_half_close');
    insFlow.run(2, 2, 40002, 'TIME_WAIT', 'CLOSED', 'orig', 'normal');
    const insHttp = v7.prepare(`INSERT INTO http_flows (flow_id, protocol, requests, responses, heads_truncated_by_snaplen, close_kind, race_requests,
        fin_to_request, exchanges_dropped, exchanges) VALUES (?, 'http', 2, 1, 0, ?, ?, ?, 0, '[]')`);
    insHttp.run(1, 'keepalive_race', 1, 0.033);
    insHttp.run(2, null, 0, null);
    v7.close();

    const s = FlowStore.open(file);
    try {
      assert.equal(s.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.deepEqual(s.db.prepare('SELECT flow_id, race_signal, signal_to_request, fin_to_request FROM http_flows ORDER BY flow_id').all(), [
        { flow_id: 1, race_signal: 'fin', signal_to_request: 0.033, fin_to_request: 0.033 },
        { flow_id: 2, race_signal: null, signal_to_request: null, fin_to_request: null },
      ]);
      // The column takes only the two signals.
      assert.throws(() => s.db.prepare(`UPDATE http_flows SET race_signal = 'syn' WHERE flow_id = 2`).run(), /CHECK constraint failed/);
      // New flows written after the upgrade carry their signal.
      const cap = s.beginCapture({ source: 'new.pcap', kind: 'file' });
      s.writeFlows(cap, [rstRace().only()]);
      const r = s.db.prepare(`SELECT race_signal, fin_to_request FROM http_flows h JOIN flows f ON f.id = h.flow_id WHERE f.capture_id = ?`).get(cap);
      assert.deepEqual(r, { race_signal: 'rst', fin_to_request: null });
    } finally {
      s.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
