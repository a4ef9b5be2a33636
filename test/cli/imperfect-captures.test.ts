import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fixture } from '../helpers/paths';
import { runCli, tmpDir } from './run-cli';

/**
 * The one-direction and both-ends captures of one run
 * (fixtures/vantage/keepalive-leak-both-ends.*, see test/tcp/imperfect-captures)
 * through the real CLI: what the ingest summary says about them and what
 * the database holds.
 */

interface VantageJson {
  captures: { tag: string; pcap: string; host: 'client' | 'server'; direction: 'both' | 'in' | 'out'; capturedOnly: 'orig' | 'resp' | null }[];
  connections: { clientPort: number; closeKind: string }[];
}
const dir = fixture('vantage');
const doc = JSON.parse(fs.readFileSync(path.join(dir, 'keepalive-leak-both-ends.json'), 'utf8')) as VantageJson;
const n = doc.connections.length;

for (const c of doc.captures) {
  test(`ingest ${c.tag}: the summary says what the capture could see and where it was taken`, () => {
    const db = path.join(tmpDir(), 'x.db');
    const r = runCli(['ingest', path.join(dir, c.pcap), '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0], /^ingested capture 1 /);
    if (c.capturedOnly === null) {
      assert.doesNotMatch(r.stderr, /direction of/);
      assert.equal(lines.at(-1), `  vantage point: at the ${c.host} (${n - 2} of ${n - 2} handshakes; from the two half-RTTs of each handshake)`);
    } else {
      const dirText = c.capturedOnly === 'orig' ? 'client→server' : 'server→client';
      assert.equal(lines[1], `  only the ${dirText} direction of ${n} of ${n} connections was captured (asymmetric routing, a one-way mirror port, or tcpdump -Q)`);
      assert.equal(lines.at(-1), '  vantage point: unknown (no complete handshake seen both ways)');
    }
    const h = new Database(db, { readonly: true });
    try {
      const rows = h.prepare('SELECT orig_p, close_kind, captured_only, close_kind_inferred, vantage FROM flows').all() as {
        orig_p: number;
        close_kind: string;
        captured_only: string | null;
        close_kind_inferred: number;
        vantage: string | null;
      }[];
      assert.equal(rows.length, n);
      for (const row of rows) {
        const want = doc.connections.find((k) => k.clientPort === row.orig_p)?.closeKind;
        assert.equal(row.captured_only, c.capturedOnly, `${row.orig_p} captured_only`);
        if (c.capturedOnly === null) {
          assert.equal(row.close_kind, want);
          continue;
        }
        // No false no_reply / fin_unacked / last_ack_unacked: what the capture cannot tell is 'unknown'.
        assert.ok(!['no_reply', 'fin_unacked', 'last_ack_unacked'].includes(row.close_kind), `${row.orig_p}: ${row.close_kind}`);
        assert.ok(row.close_kind === want || row.close_kind === 'unknown', `${row.orig_p}: ${row.close_kind}, truth ${want}`);
        if (row.close_kind !== 'unknown') assert.equal(row.close_kind_inferred, 1);
      }
      const v = h.prepare('SELECT flows, orig_only, resp_only, both_ways, measured, vantage FROM capture_vantage').get();
      assert.deepEqual(v, {
        flows: n,
        orig_only: c.capturedOnly === 'orig' ? n : 0,
        resp_only: c.capturedOnly === 'resp' ? n : 0,
        both_ways: c.capturedOnly === null ? n : 0,
        measured: c.capturedOnly === null ? n - 2 : 0,
        vantage: c.capturedOnly === null ? (c.host === 'client' ? 'orig' : 'resp') : null,
      });
    } finally {
      h.close();
    }
  });
}

test('stats reads the file alone and says the same: one direction only, vantage point', () => {
  for (const c of doc.captures) {
    const r = runCli(['stats', path.join(dir, c.pcap)]);
    assert.equal(r.code, 0, r.stderr);
    const row = (k: string) => new RegExp(`^${k}: +(.*)$`, 'm').exec(r.stdout)?.[1];
    if (c.capturedOnly === null) {
      assert.equal(row('TCP connections'), `${n} (${n} seen both ways)`);
      assert.equal(row('One direction only'), 'no');
      assert.match(row('Vantage point') ?? '', new RegExp(`^at the ${c.host} \\(`));
    } else {
      const dirText = c.capturedOnly === 'orig' ? 'client→server' : 'server→client';
      assert.equal(row('TCP connections'), `${n} (0 seen both ways)`);
      assert.equal(row('One direction only'), `only the ${dirText} direction of ${n} of ${n} connections was captured (asymmetric routing, a one-way mirror port, or tcpdump -Q)`);
      assert.match(row('Vantage point') ?? '', /^unknown/);
    }
  }
  const j = JSON.parse(runCli(['stats', '--json', path.join(dir, doc.captures.find((c) => c.tag === 'client')!.pcap)]).stdout) as { vantage: string }[];
  assert.equal(j[0].vantage, 'orig');
});

test('report: the header states the one-direction limit once and the vantage point; no finding rests on the missing direction', () => {
  for (const c of doc.captures) {
    const db = path.join(tmpDir(), 'x.db');
    assert.equal(runCli(['ingest', path.join(dir, c.pcap), '--db', db, '--quiet']).code, 0);
    const text = runCli(['report', '--db', db]);
    assert.equal(text.code, 0, text.stderr);
    const header = text.stdout.slice(0, text.stdout.indexOf('VERDICT')).replace(/\n +/g, ' ');
    const body = text.stdout.slice(text.stdout.indexOf('VERDICT'));
    const j = JSON.parse(runCli(['report', '--db', db, '--format', 'json']).stdout) as {
      summary: { oneDirection: string[]; vantage: string | null; sight: { origOnly: number; respOnly: number } };
      findings: { kind: string; details: string[] }[];
    };
    if (c.capturedOnly === null) {
      assert.doesNotMatch(header, /direction of/);
      assert.match(header, new RegExp(`vantage point: at the ${c.host} \\(`));
      assert.equal(j.summary.vantage, c.host === 'client' ? 'orig' : 'resp');
      assert.deepEqual(j.summary.oneDirection, []);
      continue;
    }
    const dirText = c.capturedOnly === 'orig' ? 'client→server' : 'server→client';
    const statement = `only the ${dirText} direction of ${n} of ${n} connections was captured (asymmetric routing, a one-way mirror port, or tcpdump -Q)`;
    assert.equal(header.split(statement).length, 2, `stated once in the header:\n${text.stdout}`);
    assert.doesNotMatch(body, /direction of \d+ of \d+ connections was captured/);
    assert.equal(j.summary.oneDirection[0], statement);
    assert.equal(j.summary.vantage, null);
    for (const f of j.findings) assert.ok(!['fin_unacked', 'last_ack_unacked', 'no_reply'].includes(f.kind), `${c.tag}: ${f.kind} finding`);
    assert.doesNotMatch(text.stdout, /stuck in (FIN_WAIT_1|LAST_ACK)/, 'no stuck FIN_WAIT_1 from a FIN whose ACK could not be captured');
    const cw = j.findings.filter((f) => f.kind === 'close_wait');
    if (c.capturedOnly === 'orig') {
      // The leak is still found, from the client's ACKs alone, and says so.
      assert.equal(cw.length, 1);
      assert.ok(cw[0].details.some((d) => /captured one direction only: the server's FIN is inferred from the client's ACK/.test(d)));
    } else {
      assert.equal(cw.length, 0);
    }
  }
});
