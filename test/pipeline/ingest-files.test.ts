import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { FlowStore } from '../../src/store/flow-store';
import { ingestFiles, IngestAborted } from '../../src/pipeline/ingest-files';

function tmpDb(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ws-pipe-')), 'w.db');
}

function snapshot(s: FlowStore): unknown[] {
  return s.db
    .prepare(
      `SELECT f.uid, f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.orig_state, f.resp_state, f.close_kind, f.history, f.conn_state,
              f.orig_pkts, f.resp_pkts, f.orig_bytes, f.resp_bytes, f.first_ts, f.last_ts,
              (SELECT group_concat(t.endpoint || ':' || t.from_state || '>' || t.to_state, ' ') FROM transitions t WHERE t.flow_id = f.id) AS tl
       FROM flows f ORDER BY f.uid`,
    )
    .all();
}

test('batch size does not change what is stored (real capture, batches of 1 vs one batch)', async () => {
  const file = fixture('nginx-stale-reuse-reset.pcap');
  const a = FlowStore.open(tmpDb());
  const b = FlowStore.open(tmpDb());
  try {
    const ra = await ingestFiles(a, [file], { batchSize: 1 });
    const rb = await ingestFiles(b, [file], { batchSize: 100000 });
    assert.equal(ra.flows, rb.flows);
    assert.ok(ra.flows >= 14);
    assert.deepEqual(snapshot(a), snapshot(b));
    assert.equal(ra.files[0].status, 'ingested');
    assert.equal(ra.packets, 150);
  } finally {
    a.close();
    b.close();
  }
});

test('aborting mid-ingest rolls everything back (IngestAborted, database unchanged)', async () => {
  const s = FlowStore.open(tmpDb());
  try {
    await ingestFiles(s, [fixture('server-closes-first.pcap')]);
    const before = s.db.prepare('SELECT (SELECT count(*) FROM captures) c, (SELECT count(*) FROM flows) f').get();
    const ctl = new AbortController();
    // Abort as soon as the first packets have been handed to the engine.
    await assert.rejects(
      ingestFiles(s, [fixture('nginx-keepalive-closewait.pcap'), fixture('nginx-stale-reuse-reset.pcap')], {
        signal: ctl.signal,
        onProgress: (p) => {
          if (p.packets > 0) ctl.abort();
        },
      }),
      IngestAborted,
    );
    assert.equal(s.db.inTransaction, false);
    assert.deepEqual(s.db.prepare('SELECT (SELECT count(*) FROM captures) c, (SELECT count(*) FROM flows) f').get(), before);
    // And the same files ingest fine afterwards.
    const r = await ingestFiles(s, [fixture('nginx-keepalive-closewait.pcap'), fixture('nginx-stale-reuse-reset.pcap')]);
    assert.equal(r.captureId, 2);
  } finally {
    s.close();
  }
});

test('two different captures given together are read in time order into one capture', async () => {
  const s = FlowStore.open(tmpDb());
  try {
    const later = fixture('nginx-keepalive-closewait.pcap');
    const earlier = fixture('connection-refused.pcap');
    const r = await ingestFiles(s, [later, earlier]);
    const order = s.db.prepare('SELECT path, first_ts FROM capture_files ORDER BY seq').all() as { path: string; first_ts: number }[];
    assert.ok(order[0].first_ts <= order[1].first_ts, 'files are stored in the order they were read');
    assert.equal(r.files.filter((f) => f.status === 'ingested').length, 2);
    const c = s.db.prepare('SELECT first_ts, last_ts, packets FROM captures').get() as { first_ts: number; last_ts: number; packets: number };
    assert.equal(c.first_ts, Math.min(...order.map((o) => o.first_ts)));
    assert.equal(c.packets, r.packets);
  } finally {
    s.close();
  }
});

test('the worker-thread writer stores exactly what the inline writer stores, and rolls back on abort', async () => {
  const files = [fixture('nginx-stale-reuse-reset.pcap'), fixture('server-never-closes.pcap')];
  const a = FlowStore.open(tmpDb());
  const b = FlowStore.open(tmpDb());
  try {
    const ra = await ingestFiles(a, files, { writer: 'inline', batchSize: 3 });
    const rb = await ingestFiles(b, files, { writer: 'worker', batchSize: 3 });
    assert.equal(rb.captureId, 1);
    assert.equal(ra.flows, rb.flows);
    assert.deepEqual(snapshot(b), snapshot(a));
    const cap = (s: FlowStore) => s.db.prepare('SELECT source, kind, format, linktypes, packets, tcp_packets, bytes, flows, truncated, completed FROM captures').all();
    assert.deepEqual(cap(b), cap(a));
    const filesOf = (s: FlowStore) => s.db.prepare('SELECT seq, path, sha256, packets FROM capture_files ORDER BY seq').all();
    assert.deepEqual(filesOf(b), filesOf(a));
    // Aborted mid-way: the worker's transaction is rolled back.
    const ctl = new AbortController();
    await assert.rejects(
      ingestFiles(b, [fixture('nginx-keepalive-closewait.pcap')], { writer: 'worker', batchSize: 1, signal: ctl.signal, onProgress: () => ctl.abort() }),
      IngestAborted,
    );
    assert.equal((b.db.prepare('SELECT count(*) AS n FROM captures').get() as { n: number }).n, 1);
    // Re-ingesting the same files through the worker adds nothing.
    const again = await ingestFiles(b, files, { writer: 'worker' });
    assert.equal(again.captureId, null);
    assert.deepEqual(again.files.map((f) => f.status), ['duplicate', 'duplicate']);
  } finally {
    a.close();
    b.close();
  }
});

test('a lone file is hashed while it is read: the stored sha256 is the file’s, and a duplicate found only after the read is rolled back', async () => {
  const file = fixture('server-closes-first.pcap');
  const want = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  for (const writer of ['inline', 'worker'] as const) {
    const s = FlowStore.open(tmpDb());
    try {
      const r = await ingestFiles(s, [file], { writer });
      assert.equal(r.files[0].status, 'ingested');
      assert.equal(r.files[0].sha256, want);
      assert.deepEqual(s.db.prepare('SELECT c.sha256 AS c, f.sha256 AS f FROM captures c JOIN capture_files f ON f.capture_id = c.id').get(), { c: want, f: want });
      const count = () => s.db.prepare('SELECT (SELECT count(*) FROM captures) c, (SELECT count(*) FROM flows) f, (SELECT count(*) FROM capture_files) cf').get();
      const before = count();
      // Same size stored: hashed first, skipped without reading.
      const again = await ingestFiles(s, [file], { writer });
      assert.deepEqual(again.files.map((f) => [f.status, f.captureId]), [['duplicate', r.captureId]]);
      // No stored file of its size (as if another ingest had committed it meanwhile): read, then found and rolled back.
      s.db.prepare('UPDATE capture_files SET size = size + 1').run();
      const late = await ingestFiles(s, [file], { writer });
      assert.equal(late.captureId, null);
      assert.deepEqual(late.files.map((f) => [f.status, f.captureId, f.sha256]), [['duplicate', r.captureId, want]]);
      assert.match(late.files[0].message ?? '', /already ingested as capture/);
      assert.deepEqual(count(), before, 'nothing added');
      assert.equal(s.db.inTransaction, false);
    } finally {
      s.close();
    }
  }
});

test("an ingest on a connection with the caller's transaction open refuses, and leaves that transaction alone", async () => {
  const s = FlowStore.open(tmpDb());
  try {
    s.db.exec('BEGIN');
    s.db.prepare("INSERT INTO captures (source, kind, ingested_at) VALUES ('mine', 'file', 0)").run();
    await assert.rejects(ingestFiles(s, [fixture('client-closes-first.pcap')], { writer: 'inline' }), /a transaction is already open/);
    assert.equal(s.db.inTransaction, true, "the caller's transaction is still open");
    assert.deepEqual(s.db.prepare('SELECT source FROM captures').all(), [{ source: 'mine' }]);
    assert.equal(s.db.pragma('foreign_keys', { simple: true }), 1);
    s.db.exec('COMMIT');
    // And the connection works for an ingest afterwards.
    const r = await ingestFiles(s, [fixture('client-closes-first.pcap')], { writer: 'inline' });
    assert.ok(r.flows > 0);
    assert.equal(s.db.inTransaction, false);
  } finally {
    s.close();
  }
});
