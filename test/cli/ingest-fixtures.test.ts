import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fixture } from '../helpers/paths';
import { realFixtures, runCli, tmpDir, type FixtureTruth } from './run-cli';
import type { FlowsRow } from '../../src/store/flows-row';

// End to end on captures of real kernel TCP traffic: the built CLI ingests
// each fixture, and the database rows must agree with the ss ground truth
// taken in both namespaces at capture end (fixtures/<name>.json).

type FlowRow = Pick<FlowsRow, 'id' | 'orig_h' | 'orig_p' | 'resp_h' | 'resp_p' | 'orig_state' | 'resp_state' | 'close_kind' | 'first_fin_by' | 'midstream'>;

function clientSide(t: FixtureTruth, f: FlowRow): 'orig' | 'resp' {
  return f.orig_h === t.client ? 'orig' : 'resp';
}

for (const t of realFixtures()) {
  test(`ingest ${t.name}: flows, states and close kinds match the ss ground truth`, () => {
    const db = path.join(tmpDir(), 'w.db');
    const r = runCli(['ingest', fixture(`${t.name}.pcap`), '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    // Not a terminal and no --progress: the one-line summary only.
    assert.match(r.stderr, /^ingested capture 1 into .*: 1 file, \d+ packets \(\d+ TCP\), \d+ flows?[^\n]*\n(  [^\n]+\n)*  vantage point: [^\n]+\n$/);
    const d = new Database(db, { readonly: true });
    try {
      const cap = d.prepare('SELECT * FROM captures').all() as Record<string, any>[];
      assert.equal(cap.length, 1);
      assert.equal(cap[0].kind, 'file');
      assert.equal(cap[0].packets, t.capture.packets);
      assert.equal(cap[0].tcp_packets, t.capture.tcpPackets);
      assert.equal(cap[0].truncated, 0);
      assert.ok(cap[0].first_ts <= t.capture.firstTcpTs + 1e-6 && cap[0].last_ts >= t.capture.lastTcpTs - 1e-6);
      assert.match(cap[0].sha256, /^[0-9a-f]{64}$/);

      const flows = d.prepare('SELECT * FROM flows').all() as FlowRow[];
      const byPort = new Map<number, FlowRow>();
      for (const f of flows) {
        if (!((f.orig_h === t.client && f.resp_h === t.server) || (f.orig_h === t.server && f.resp_h === t.client))) continue;
        const port = clientSide(t, f) === 'orig' ? f.orig_p : f.resp_p;
        assert.ok(!byPort.has(port), `two flows for client port ${port}`);
        byPort.set(port, f);
      }
      assert.deepEqual([...byPort.keys()].sort((a, b) => a - b), [...t.connections].sort((a, b) => a - b), 'one flow per connection');
      for (const e of t.flows) {
        const f = byPort.get(e.clientPort)!;
        const cs = clientSide(t, f);
        const ss = cs === 'orig' ? 'resp' : 'orig';
        const got = {
          port: e.clientPort,
          clientState: cs === 'orig' ? f.orig_state : f.resp_state,
          serverState: ss === 'orig' ? f.orig_state : f.resp_state,
          closeKind: f.close_kind,
          firstFinBy: f.first_fin_by === null ? null : f.first_fin_by === cs ? 'client' : 'server',
        };
        assert.deepEqual(got, { port: e.clientPort, clientState: e.clientState, serverState: e.serverState, closeKind: e.closeKind, firstFinBy: e.firstFinBy });
      }

      // The close_wait view lists exactly the sockets ss saw in CLOSE_WAIT.
      const cw = d.prepare('SELECT stuck_h, stuck_p, peer_h, peer_p, stuck_s FROM close_wait').all() as {
        stuck_h: string;
        stuck_p: number;
        peer_h: string;
        peer_p: number;
        stuck_s: number;
      }[];
      const expCw = t.flows
        .filter((e) => e.clientState === 'CLOSE_WAIT' || e.serverState === 'CLOSE_WAIT')
        .map((e) => (e.clientState === 'CLOSE_WAIT' ? `${t.client}:${e.clientPort}` : `${t.server}:${t.serverPort}<-${e.clientPort}`))
        .sort();
      const gotCw = cw.map((c) => (c.stuck_h === t.client ? `${c.stuck_h}:${c.stuck_p}` : `${c.stuck_h}:${c.stuck_p}<-${c.peer_p}`)).sort();
      assert.deepEqual(gotCw, expCw);
      for (const c of cw) assert.ok(c.stuck_s >= 0 && c.stuck_s < 3600, `stuck_s ${c.stuck_s}`);

      // Every flow has a timeline that starts where it starts.
      const noTransitions = d.prepare('SELECT count(*) AS n FROM flows f WHERE NOT EXISTS (SELECT 1 FROM transitions t WHERE t.flow_id = f.id)').get() as { n: number };
      assert.equal(noTransitions.n, 0, 'every flow has transitions');
      const fs = d.prepare('PRAGMA foreign_key_check').all();
      assert.deepEqual(fs, []);
    } finally {
      d.close();
    }
  });
}
