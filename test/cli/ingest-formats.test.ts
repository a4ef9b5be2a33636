import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fixture } from '../helpers/paths';
import { runCli, tmpDir } from './run-cli';

// The same real traffic in pcap, pcapng and gzip framing (fixtures/formats,
// converted with editcap/gzip) must give the same rows; only the capture's
// format column differs.

function ingest(file: string): { format: string; flows: unknown[] } {
  const db = path.join(tmpDir(), 'w.db');
  const r = runCli(['ingest', fixture('formats', file), '--db', db, '-q']);
  assert.equal(r.code, 0, r.stderr);
  const d = new Database(db, { readonly: true });
  try {
    const format = (d.prepare('SELECT format FROM captures').get() as { format: string }).format;
    const flows = d
      .prepare(
        `SELECT orig_h, orig_p, resp_h, resp_p, first_ts, last_ts, orig_pkts, orig_bytes, resp_pkts, resp_bytes,
                orig_state, resp_state, close_kind, history, conn_state
         FROM flows ORDER BY first_ts, orig_p`,
      )
      .all();
    return { format, flows };
  } finally {
    d.close();
  }
}

test('IPv4: pcap, pcapng and gzipped pcap give identical flows', () => {
  const pcap = ingest('eth-ipv4.pcap');
  const ng = ingest('eth-ipv4.pcapng');
  const gz = ingest('eth-ipv4.pcap.gz');
  assert.equal(pcap.format, 'pcap');
  assert.equal(ng.format, 'pcapng');
  assert.equal(gz.format, 'pcap+gzip');
  assert.ok(pcap.flows.length >= 2);
  assert.deepEqual(ng.flows, pcap.flows);
  assert.deepEqual(gz.flows, pcap.flows);
  // The traffic script's byte counts per connection to port 8078 (fixtures/formats/README.md).
  const bytes = (pcap.flows as { resp_p: number; orig_bytes: number; resp_bytes: number }[])
    .filter((f) => f.resp_p === 8078)
    .map((f) => [f.orig_bytes, f.resp_bytes]);
  assert.deepEqual(bytes, [
    [300, 5000],
    [200, 3000],
  ]);
});

test('IPv6 with nanosecond timestamps: pcap, pcapng and gzipped pcapng give identical flows', () => {
  const pcap = ingest('eth-ipv6-ns.pcap');
  const ng = ingest('eth-ipv6-ns.pcapng');
  const gz = ingest('eth-ipv6-ns-gzipped.pcapng');
  assert.equal(gz.format, 'pcapng+gzip');
  assert.deepEqual(ng.flows, pcap.flows);
  assert.deepEqual(gz.flows, pcap.flows);
  const f = pcap.flows as { orig_h: string; resp_p: number; orig_bytes: number; resp_bytes: number; close_kind: string }[];
  assert.deepEqual(
    f.filter((x) => x.resp_p === 8078).map((x) => [x.orig_h, x.orig_bytes, x.resp_bytes, x.close_kind]),
    [
      ['fd78::1', 400, 6000, 'normal'],
      ['fd78::1', 400, 6000, 'normal'],
    ],
  );
});
