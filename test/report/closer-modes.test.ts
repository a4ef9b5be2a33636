import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { readPcap, replicatePcap, tcpOf } from '../cli/pcap-edit';
import { runCli, tmpDir, truth } from '../cli/run-cli';
import type { IdleFingerprint, Report } from '../../src/report/report-types';

// One nginx that closes most connections right after the response
// (Connection: close, server-closes-first) and the idle pooled ones on its
// 65 s keep-alive timer (nginx-keepalive-closewait): the second capture's
// packets moved onto the first one's addresses, taken after it.
test('a closer with two ways of closing: the fingerprint reports both, not "no idle timer"', () => {
  const keep = truth('nginx-keepalive-closewait');
  const cls = truth('server-closes-first');
  const copies = 30;
  const dir = tmpDir();
  const second = path.join(dir, 'close.pcap');
  replicatePcap(readPcap(fixture(`${cls.name}.pcap`)), cls.serverPort, copies, 1, second);
  const p = readPcap(second);
  const [from, to] = [cls.server.split('.').map(Number), keep.server.split('.').map(Number)];
  assert.deepEqual(from.slice(0, 2), to.slice(0, 2));
  const keepPorts = new Set(keep.flows.map((f) => f.clientPort));
  for (let i = 0; i < p.records.length; i++) {
    const t = tcpOf(p, i);
    if (!t) continue;
    const ip = p.records[i].off + 16 + 14;
    // 10.77.5.x -> 10.77.1.x on both addresses (the decoder does not verify checksums, as on offloaded captures).
    for (const o of [ip + 14, ip + 18]) if (p.buf[o - 2] === from[0] && p.buf[o - 1] === from[1] && p.buf[o] === from[2]) p.buf[o] = to[2];
    assert.ok(!keepPorts.has(t.sport) && !keepPorts.has(t.dport), 'replica client ports stay distinct from the keep-alive capture');
  }
  fs.writeFileSync(second, p.buf);

  const db = path.join(dir, 'w.db');
  const r = runCli(['analyze', fixture(`${keep.name}.pcap`), second, '--db', db, '-q', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  const immediate = copies * cls.flows.filter((f) => f.firstFinBy === 'server').length;
  const timed = keep.flows.filter((f) => f.firstFinBy === 'server').length;
  assert.equal(timed, 18);

  const fps = rep.findings.filter((f) => f.kind === 'closer_fingerprint' && (f.facts as { role: string }).role === 'server');
  assert.equal(fps.length, 1);
  const fp = (fps[0].facts as { idleBeforeFin: IdleFingerprint }).idleBeforeFin;
  assert.equal(fp.total, immediate + timed);
  assert.equal(fp.timer, false, 'most closes are not on a timer');
  assert.equal(fp.modes.length, 2);
  assert.equal(fp.modes[0].count, immediate);
  assert.ok(fp.modes[0].medianS < 0.1, String(fp.modes[0].medianS));
  assert.equal(fp.modes[1].count, timed);
  assert.ok(Math.abs(fp.modes[1].medianS - 65) < 1, String(fp.modes[1].medianS));
  assert.deepEqual(fp.timerMode, fp.modes[1]);
  assert.match(
    fps[0].title,
    new RegExp(
      `^server 10\\.77\\.1\\.1:80 closes right after the last data in ${immediate} of ${immediate + timed} cases \\(median \\d+ [µm]?s: ` +
        `the application closes, e\\.g\\. Connection: close or the client asked\\), and after 6[45]\\.\\d s idle in ${timed} \\(6[45]\\.\\d{3}–6[45]\\.\\d{3} s: its keep-alive timer\\)$`,
    ),
  );
  assert.doesNotMatch(fps[0].title, /no idle timer/);
  assert.match(fps[0].implication, new RegExp(`${timed} closes come after about 6[45]\\.\\d s without data: that is the server's idle/keep-alive timeout`));

  // The CLOSE_WAIT finding's own fingerprint (the pooled connections only) is the timer, and now agrees.
  const cw = rep.findings.filter((f) => f.kind === 'close_wait');
  assert.equal(cw.length, 1);
  const cfp = (cw[0].facts as { idleBeforeFin: IdleFingerprint }).idleBeforeFin;
  assert.equal(cfp.timer, true);
  assert.equal(cfp.modes.length, 1);
  // This capture carried HTTP: the setting advice states the server's timeout (once).
  assert.match(cw[0].implication, /idle timeout for pooled connections must be shorter than the server's \(6[45]\.\d s\)/);
  assert.doesNotMatch(cw[0].implication, /closes idle connections after about/);

  const text = runCli(['report', '--db', db]).stdout;
  for (const l of text.split('\n')) assert.ok(l.length <= 80, l);
  assert.doesNotMatch(text, /no idle timer/);
});

test('a plural closer takes a plural verb: "24 clients of 10.1.1.10:8080 close ...", "server ... closes ..."', async () => {
  const { describeIdle, idleFingerprint } = await import('../../src/report/idle-fingerprint');
  const idles = [0.21, 0.25, 0.3, 0.27, 1.2, 1.21, 0.26, 0.28, 1.19, 0.24];
  assert.match(describeIdle(idleFingerprint('24 clients of 10.1.1.10:8080', idles)), /^24 clients of 10\.1\.1\.10:8080 close /);
  assert.match(describeIdle(idleFingerprint('its clients', idles)), /^its clients close /);
  assert.match(describeIdle(idleFingerprint('server 10.1.1.10:8080', idles)), /^server 10\.1\.1\.10:8080 closes /);
  assert.match(describeIdle(idleFingerprint('client 10.3.0.2 (to 10.1.1.10:8080)', [65, 65.01, 65.02])), /^client 10\.3\.0\.2 \(to 10\.1\.1\.10:8080\) closes /);
});
