import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fixture } from '../helpers/paths';
import { readPcap, replicatePcap } from '../cli/pcap-edit';
import { runCli, tmpDir, truth } from '../cli/run-cli';
import type { Report } from '../../src/report/report-types';

test('the verdict counts stale-reuse resets over every group, not only the 10 shown', () => {
  const t = truth('nginx-stale-reuse-reset');
  const perCopy = t.flows.filter((f) => f.closeKind === 'reset_after_half_close').length;
  assert.ok(perCopy > 0);
  const dir = tmpDir();
  const file = path.join(dir, 'many.pcap');
  // 12 replicas of the real capture, each against other service ports: 12 reset groups.
  replicatePcap(readPcap(fixture(`${t.name}.pcap`)), t.serverPort, 12, 5, file, { shiftServerPorts: true });
  const db = path.join(dir, 'w.db');
  const r = runCli(['analyze', file, '--db', db, '-q', '--format', 'json', '--no-http']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  const d = new Database(db, { readonly: true });
  const n = (d.prepare("SELECT count(*) AS n FROM flows WHERE close_kind = 'reset_after_half_close'").get() as { n: number }).n;
  d.close();
  assert.equal(n, 12 * perCopy);
  assert.equal(rep.findings.filter((f) => f.kind === 'reset_after_half_close').length, 10);
  assert.equal(rep.summary.omitted.reset_after_half_close, 2);
  assert.ok(rep.summary.verdict.includes(` ${n} connections were reused after the peer had closed them and reset`), rep.summary.verdict);
  // With the HTTP facts the same resets are keep-alive races (reported by that finding instead): the count is the same.
  const h = runCli(['analyze', file, '--db', path.join(dir, 'h.db'), '-q', '--format', 'json']);
  assert.equal(h.code, 0, h.stderr);
  const withHttp = JSON.parse(h.stdout) as Report;
  assert.equal(withHttp.findings.filter((f) => f.kind === 'reset_after_half_close').length, 0);
  assert.equal(withHttp.findings.filter((f) => f.kind === 'keepalive_race').length, 10);
  assert.equal(withHttp.summary.omitted.keepalive_race, 2);
  assert.ok(withHttp.summary.verdict.includes(` ${n} connections were reused after the peer had closed them and reset`), withHttp.summary.verdict);
});

test('many clients of one service leaking a few each: the verdict names the service\'s clients, their total and the largest', () => {
  const t = truth('nginx-keepalive-closewait');
  const perClient = t.flows.filter((f) => f.clientState === 'CLOSE_WAIT').length;
  assert.ok(perClient > 0);
  const dir = tmpDir();
  for (const [clients, fleet] of [
    [12, true],
    [9, false],
  ] as const) {
    // The real capture replayed by `clients` other client hosts of the same nginx, one after another.
    const file = path.join(dir, `c${clients}.pcap`);
    replicatePcap(readPcap(fixture(`${t.name}.pcap`)), t.serverPort, clients, 1, file, { shiftClientAddress: true });
    const r = runCli(['analyze', file, '--db', path.join(dir, `c${clients}.db`), '-q', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    const cw = rep.findings.filter((f) => f.kind === 'close_wait');
    assert.equal(cw.length, Math.min(clients, 10));
    assert.equal(new Set(cw.map((f) => f.facts.stuckHost)).size, cw.length);
    assert.equal(rep.summary.closeWait, clients * perClient);
    const v = rep.summary.verdict;
    if (fleet) {
      assert.ok(v.startsWith(`${clients} clients of server ${t.server}:${t.serverPort} (nginx/1.22.1) leak connections to it: ${clients * perClient} in CLOSE_WAIT (${perClient} each), oldest `), v);
      assert.match(v, new RegExp(`The most in one client: ${cw[0].facts.stuckHost as string}, ${perClient}\\.`));
      assert.ok(!v.includes('more endpoint group'), v);
    } else {
      assert.ok(v.startsWith(`${cw[0].title}; stuck since `), v);
      assert.ok(v.includes(` ${clients - 1} more endpoint groups hold CLOSE_WAIT connections.`), v);
    }
  }
});
