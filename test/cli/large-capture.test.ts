import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { repoRoot } from '../helpers/paths';
import { runCli, tmpDir } from './run-cli';
import type { Finding, Report } from '../../src/report/report-types';

// The benchmark's real capture (fixtures/make/large-capture.sh: 50k real
// nginx connections, ~875k packets, not committed). When it is there, the
// whole chain must agree with its client's counters and with ss at the end.
const pcap = path.join(repoRoot, 'bench', 'work', 'real-large.pcap');
const meta = path.join(repoRoot, 'bench', 'work', 'real-large.json');
const present = fs.existsSync(pcap) && fs.existsSync(meta);

test('large real capture: counts, CLOSE_WAIT, stale reuse, refusals and TIME_WAIT agree with the client and ss', { skip: present ? false : 'bench/work/real-large.pcap not made (sudo fixtures/make/large-capture.sh)' }, () => {
  const m = JSON.parse(fs.readFileSync(meta, 'utf8')) as {
    connections: number;
    client: string;
    server: string;
    serverPort: number;
    packetsCaptured: number;
    clientCounters: Record<string, number>;
    ssAtEnd: { clientCloseWait: number; serverFinWait2: number; clientTimeWait: number; serverTimeWait: number };
  };
  const db = path.join(tmpDir(), 'w.db');
  const r = runCli(['analyze', pcap, '--db', db, '-q', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  const of = (k: Finding['kind']) => rep.findings.filter((f) => f.kind === k);
  assert.equal(rep.capture.packets, m.packetsCaptured);
  assert.equal(rep.capture.flows, m.connections);
  assert.equal(rep.summary.closeWait, m.ssAtEnd.clientCloseWait);
  assert.equal(rep.summary.finWait2CloseWaitPairs, m.ssAtEnd.serverFinWait2);
  const cw = of('close_wait');
  assert.equal(cw.length, 1);
  assert.equal(cw[0].facts.stuckHost, m.client);
  assert.equal(cw[0].severity, 'warning', 'more than 100 CLOSE_WAIT connections');
  assert.equal(of('reset_after_half_close')[0].facts.count, m.clientCounters.stale_reuse_rst);
  assert.equal(of('refused').reduce((a, f) => a + (f.facts.count as number), 0), m.clientCounters.refused);
  const d = new Database(db, { readonly: true });
  try {
    const tw = d.prepare('SELECT endpoint, count(*) AS n, sum(at_end) AS at_end FROM time_wait GROUP BY endpoint ORDER BY endpoint').all();
    assert.deepEqual(tw, [
      { endpoint: 'orig', n: m.clientCounters.client_close, at_end: m.ssAtEnd.clientTimeWait },
      { endpoint: 'resp', n: m.clientCounters.server_close, at_end: m.ssAtEnd.serverTimeWait },
    ]);
    const kinds = Object.fromEntries((d.prepare('SELECT close_kind, count(*) AS n FROM flows GROUP BY close_kind').all() as { close_kind: string; n: number }[]).map((x) => [x.close_kind, x.n]));
    assert.equal(kinds.reset, m.clientCounters.abort_rst);
    assert.equal(kinds.normal, m.clientCounters.server_close + m.clientCounters.client_close);
  } finally {
    d.close();
  }
});
