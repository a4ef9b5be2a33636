import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fixture } from '../helpers/paths';
import { runCli, tmpDir } from '../cli/run-cli';
import type { FlowsRow } from '../../src/store/flows-row';

/** The real captures of fixtures/zeek/ (fixtures/make/zeek-rules.sh), ingested through the CLI. */
type Row = Pick<FlowsRow, 'orig_p' | 'resp_p' | 'conn_state' | 'history' | 'missed_bytes' | 'orig_bytes' | 'resp_bytes' | 'orig_state' | 'resp_state'>;

function ingest(name: string): { rows: Row[]; stderr: string; loss: { loss_acked_bytes: number; loss_gap_bytes: number } } {
  const db = path.join(tmpDir(), 'z.db');
  const r = runCli(['ingest', fixture('zeek', `${name}.pcap`), '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  const h = new Database(db, { readonly: true });
  try {
    return {
      rows: h.prepare('SELECT * FROM flows ORDER BY first_ts').all() as Row[],
      stderr: r.stderr,
      loss: h.prepare('SELECT loss_acked_bytes, loss_gap_bytes FROM captures').get() as { loss_acked_bytes: number; loss_gap_bytes: number },
    };
  } finally {
    h.close();
  }
}

test('a closed port retried with the identical SYN: one Sr / REJ flow per attempt (Zeek IsReuse)', () => {
  const { rows } = ingest('refused-retry-same-syn');
  assert.deepEqual(
    rows.map((r) => `${r.orig_p}>${r.resp_p} ${r.conn_state} ${r.history} ${r.orig_state}/${r.resp_state}`),
    ['40125>81 REJ Sr CLOSED/CLOSED', '40125>81 REJ Sr CLOSED/CLOSED', '40125>81 REJ Sr CLOSED/CLOSED'],
  );
});

test('tcpdump -s 54 of a bulk transfer: the cut payload is a gap (G/g, missed_bytes) but no capture loss', () => {
  const { rows, stderr, loss } = ingest('snaplen54-bulk');
  assert.equal(rows.length, 2);
  const [down, up] = rows;
  // The download: 12 request bytes up, 300000 down, every payload byte cut and acknowledged.
  assert.deepEqual([down.orig_bytes, down.resp_bytes, down.missed_bytes], [12, 300000, 300012]);
  assert.deepEqual([up.orig_bytes, up.resp_bytes, up.missed_bytes], [200010, 11, 200021]);
  for (const r of rows) {
    assert.equal(r.conn_state, 'S1');
    assert.match(r.history, /^ShAD.*G/);
    assert.match(r.history, /g/);
  }
  assert.equal(loss.loss_gap_bytes, 0);
  assert.ok(loss.loss_acked_bytes >= 500000);
  assert.match(stderr, /, capture loss 0\.0% \(0 of [\d,]+ acknowledged bytes never seen\)/);
});

test('tcpdump -Q in on the server: one direction only, no gap letter, no missed bytes', () => {
  const { rows, loss } = ingest('one-direction-inbound');
  assert.equal(rows.length, 1);
  const [f] = rows;
  assert.doesNotMatch(f.history, /[gG]/);
  assert.equal(f.missed_bytes, 0);
  assert.ok(f.resp_bytes > 100000, 'the server data is known from the client ACKs');
  assert.equal(loss.loss_gap_bytes, 0);
});
