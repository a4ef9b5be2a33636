import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { fixture, repoRoot } from '../helpers/paths';
import { runCli, tmpDir, truth } from './run-cli';
import type { Finding, Report } from '../../src/report/report-types';

// The diagnosis on real captures, checked against the ss ground truth.

function analyze(name: string, extra: string[] = []): { report: Report; db: string } {
  const db = path.join(tmpDir(), 'w.db');
  const r = runCli(['analyze', fixture(`${name}.pcap`), '--db', db, '--quiet', '--format', 'json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return { report: JSON.parse(r.stdout) as Report, db };
}

function findings(r: Report, kind: Finding['kind']): Finding[] {
  return r.findings.filter((f) => f.kind === kind);
}

function textLines(db: string, extra: string[] = []): string[] {
  const r = runCli(['report', '--db', db, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  for (const l of lines) assert.ok(l.length <= 80, `line wider than 80 columns: ${JSON.stringify(l)}`);
  return lines;
}

test('nginx keep-alive: the pooled client is named as the CLOSE_WAIT leaker, nginx 65 s timer as the closer', () => {
  const t = truth('nginx-keepalive-closewait');
  const stuck = t.flows.filter((f) => f.clientState === 'CLOSE_WAIT');
  const { report, db } = analyze(t.name);
  const cw = findings(report, 'close_wait');
  assert.equal(cw.length, 1, 'one group: client → server:80');
  const f = cw[0];
  assert.equal(f.facts.stuckRole, 'client');
  assert.equal(f.facts.stuckHost, t.client);
  assert.equal(f.facts.peerHost, t.server);
  assert.equal(f.facts.peerPort, t.serverPort);
  assert.equal(f.facts.count, stuck.length);
  assert.deepEqual(f.facts.peerStates, { FIN_WAIT_2: stuck.filter((s) => s.serverState === 'FIN_WAIT_2').length });
  const fp = f.facts.idleBeforeFin as { medianS: number; matching: number; total: number; timer: boolean };
  assert.equal(fp.timer, true);
  assert.ok(Math.abs(fp.medianS - 65) < 1, `median idle ${fp.medianS} s is nginx's keepalive_timeout 65 s`);
  assert.equal(fp.matching, stuck.length);
  assert.equal(f.evidence.flowIds.length, Math.min(20, stuck.length));
  assert.ok(f.evidence.sample && f.evidence.sample.timeline.some((s) => s.to === 'CLOSE_WAIT' && s.endpoint === 'orig'));
  assert.match(f.implication, /connection pool/);
  assert.match(f.implication, new RegExp(`client at ${t.client.replace(/\./g, '\\.')}`));
  assert.equal(report.summary.closeWait, stuck.length);
  assert.equal(report.summary.finWait2CloseWaitPairs, stuck.length);
  // Short capture, far below the default thresholds.
  assert.equal(f.severity, 'info');
  // The pile-up rate is stated over the span it was measured on (seconds here), not as a bare rate.
  const spanS = (Date.parse(f.facts.newestSince as string) - Date.parse(f.facts.since as string)) / 1000;
  assert.ok(spanS > 1 && spanS < 10, String(spanS));
  assert.ok(f.details.some((d) => d.includes(`They appeared over ${spanS.toFixed(1)} s of the capture, about `)), f.details.join(' | '));
  // The HTTP headers name both programs (the fixture's pool sends User-Agent wirestate-fixture-pool).
  assert.match(report.summary.verdict, new RegExp(`^client ${t.client.replace(/\./g, '\\.')} \\(wirestate-fixture-pool\\) leaks connections to server ${t.server.replace(/\./g, '\\.')}:80 \\(nginx/1\\.`));

  // The fingerprint finding names nginx's port and the 65 s in plain words.
  const fps = findings(report, 'closer_fingerprint').filter((x) => (x.facts as any).role === 'server');
  assert.equal(fps.length, 1);
  assert.match(fps[0].title, /server 10\.77\.1\.1:80 closes after 6[45]\.\d s idle in 18 of 18 cases \(6[45]\.\d{3}–6[45]\.\d{3} s\)/);
  // The client closed the other connections itself: TIME_WAIT on the client side.
  const tw = findings(report, 'time_wait');
  const normal = t.flows.filter((x) => x.closeKind === 'normal');
  assert.equal(tw.reduce((a, x) => a + (x.facts.count as number), 0), normal.length);

  const lines = textLines(db);
  const text = lines.join('\n');
  assert.match(text, /VERDICT \(INFO\)/);
  assert.match(text, /CLOSE_WAIT/);
  assert.match(text, /Sample flow \d+: 10\.77\.1\.2:\d+ -> 10\.77\.1\.1:80/);
});

test('thresholds are configurable: --warn-age and --crit-age change the severity', () => {
  const { db } = analyze('nginx-keepalive-closewait');
  const warn = JSON.parse(runCli(['report', '--db', db, '--format', 'json', '--warn-age', '1']).stdout) as Report;
  assert.equal(findings(warn, 'close_wait')[0].severity, 'warning');
  assert.equal(warn.summary.severity, 'warning');
  const crit = JSON.parse(runCli(['report', '--db', db, '--format', 'json', '--crit-age', '1']).stdout) as Report;
  assert.equal(findings(crit, 'close_wait')[0].severity, 'critical');
  const cnt = JSON.parse(runCli(['report', '--db', db, '--format', 'json', '--warn-count', '5']).stdout) as Report;
  assert.equal(findings(cnt, 'close_wait')[0].severity, 'warning');
  assert.match(textLines(db, ['--crit-age', '1']).join('\n'), /VERDICT \(CRITICAL\)/);
});

test('stale pooled connections reused: reset after half-close counted once, the rest still CLOSE_WAIT', () => {
  const t = truth('nginx-stale-reuse-reset');
  const resets = t.flows.filter((f) => f.closeKind === 'reset_after_half_close');
  // What the pool really logs (fixture README: the client's recv returned EOF, its next send EPIPE; never ECONNRESET).
  const ev = (t as unknown as { clientEvents: Record<string, number[]> }).clientEvents;
  assert.ok(resets.length > 0 && resets.every((f) => ev.eof.includes(f.clientPort)), 'the client read EOF on every reset connection');
  const says = (implication: string): void => {
    assert.match(implication, /EPIPE \("broken pipe"\)/);
    assert.match(implication, /end-of-file/);
    assert.doesNotMatch(implication, /sees "connection reset by peer"|ECONNRESET/);
  };
  // TCP only (--no-http): the stale reuse is the reset-after-half-close finding.
  const tcp = analyze(t.name, ['--no-http']).report;
  const rst = findings(tcp, 'reset_after_half_close');
  assert.equal(rst.length, 1);
  assert.equal(rst[0].facts.count, resets.length);
  assert.equal(rst[0].facts.halfClosedRole, 'client');
  assert.equal(rst[0].facts.halfClosedHost, t.client);
  says(rst[0].implication);
  assert.equal(findings(tcp, 'keepalive_race').length, 0);
  // With the HTTP facts every one of them was a request lost to the keep-alive race: reported there, once, with the same
  // explanation, not a second time as a reset after half-close.
  const { report, db } = analyze(t.name);
  assert.equal(findings(report, 'reset_after_half_close').length, 0);
  const race = findings(report, 'keepalive_race');
  assert.equal(race.length, 1);
  assert.equal(race[0].facts.resetAfterHalfClose, resets.length);
  assert.equal(race[0].facts.clientHost, t.client);
  assert.deepEqual([...race[0].evidence.flowIds].sort(), [...rst[0].evidence.flowIds].sort());
  says(race[0].implication);
  assert.ok(report.summary.verdict.includes(` ${resets.length} connections were reused after the peer had closed them and reset`), report.summary.verdict);
  assert.ok(tcp.summary.verdict.includes(` ${resets.length} connections were reused after the peer had closed them and reset`), tcp.summary.verdict);
  const cw = findings(report, 'close_wait');
  assert.equal(cw.length, 1);
  assert.equal(cw[0].facts.count, t.flows.filter((f) => f.clientState === 'CLOSE_WAIT').length);
  // A reset of a reused connection is a warning even in a short capture.
  assert.equal(report.summary.severity, 'warning');
  textLines(db);
});

test('stale reuse resets split between the two findings: the ones that were not keep-alive races stay a reset after half-close', () => {
  const t = truth('nginx-stale-reuse-reset');
  const resets = t.flows.filter((f) => f.closeKind === 'reset_after_half_close').length;
  assert.ok(resets >= 2);
  const { db } = analyze(t.name);
  // The same real flows, but one race's HTTP facts no longer say keep-alive race (as when its request was not seen).
  const d = new Database(db);
  const one = d
    .prepare("SELECT h.flow_id AS id FROM http_flows h JOIN flows f ON f.id = h.flow_id WHERE h.close_kind = 'keepalive_race' AND f.close_kind = 'reset_after_half_close' ORDER BY h.flow_id LIMIT 1")
    .get() as { id: number };
  d.prepare('UPDATE http_flows SET close_kind = NULL, race_requests = 0, fin_to_request = NULL, race_signal = NULL, signal_to_request = NULL WHERE flow_id = ?').run(one.id);
  d.close();
  const report = JSON.parse(runCli(['report', '--db', db, '--format', 'json']).stdout) as Report;
  const rst = findings(report, 'reset_after_half_close');
  assert.equal(rst.length, 1);
  assert.equal(rst[0].facts.count, 1);
  assert.deepEqual(rst[0].evidence.flowIds, [one.id]);
  assert.equal(rst[0].facts.keepaliveRaces, resets - 1);
  assert.ok(rst[0].details.includes(`${resets - 1} more such connections with the same peers carried an HTTP request lost to the keep-alive race: reported in that finding.`), rst[0].details.join(' | '));
  const race = findings(report, 'keepalive_race');
  assert.equal(race[0].facts.resetAfterHalfClose, resets - 1);
  assert.ok(!race[0].evidence.flowIds.includes(one.id));
  assert.ok(report.summary.verdict.includes(` ${resets} connections were reused after the peer had closed them and reset`), report.summary.verdict);
  textLines(db);
});

test('a CLOSE_WAIT leak closed late: the late FIN drew an RST from the closer, whose orphaned socket was gone (not "an RST without a FIN")', () => {
  const t = truth('closewait-late-close-reset');
  const late = t.flows.filter((f) => f.closeKind === 'reset');
  assert.equal(late.length, 4);
  const { report, db } = analyze(t.name);
  const rst = findings(report, 'reset');
  assert.equal(rst.length, 1);
  const f = rst[0];
  assert.equal(f.facts.count, late.length);
  assert.equal(f.facts.resetBy, 'server');
  assert.equal(f.facts.afterPeerFin, true);
  // The pool closed them 9 s after it started; nginx's FIN came after its 2 s keep-alive timeout.
  const cw = f.facts.closeWaitS as { min: number; median: number; max: number };
  assert.ok(cw.min > 5 && cw.max < 8.5, JSON.stringify(cw));
  assert.equal(f.facts.pastFinTimeout, 0, "shorter than Linux's default 60 s: the fixture's namespace has tcp_fin_timeout 3");
  assert.match(f.title, /^4 connections with 10\.77\.45\.1:80: the client closed \d\.\d s after the server's FIN and drew an RST from it$/);
  assert.ok(f.details.some((d) => d.includes('stayed in CLOSE_WAIT') && d.includes('answered that FIN with an RST')), f.details.join(' | '));
  assert.ok(!f.details.some((d) => /Without a FIN/.test(d)));
  assert.match(f.implication, /This is how a CLOSE_WAIT leak ends/);
  const d = new Database(db, { readonly: true });
  const ports = (d.prepare(`SELECT orig_p FROM flows WHERE id IN (${f.evidence.flowIds.join(',')})`).all() as { orig_p: number }[]).map((r) => r.orig_p);
  d.close();
  assert.deepEqual(ports.sort(), late.map((x) => x.clientPort).sort());
  // The bare resets of the RST race fixture keep the plain wording.
  const bare = findings(analyze('keepalive-race-rst', ['--no-http']).report, 'reset');
  assert.ok(bare.length > 0 && bare.every((x) => x.details.includes('Without a FIN before the reset.') && x.facts.afterPeerFin === false));
  textLines(db);
});

test('server that never closes: the server and its service port are the CLOSE_WAIT holder', () => {
  const t = truth('server-never-closes');
  const { report } = analyze(t.name);
  const cw = findings(report, 'close_wait');
  assert.equal(cw.length, 1);
  assert.equal(cw[0].facts.stuckRole, 'server');
  assert.equal(cw[0].facts.stuckHost, t.server);
  assert.equal(cw[0].facts.stuckPort, t.serverPort);
  assert.equal(cw[0].facts.count, t.flows.filter((f) => f.serverState === 'CLOSE_WAIT').length);
  assert.deepEqual(cw[0].facts.peerStates, { FIN_WAIT_2: t.flows.filter((f) => f.clientState === 'FIN_WAIT_2').length });
  assert.match(cw[0].implication, /server's code/);
});

test('refused and unanswered connection attempts are reported per service', () => {
  const refused = truth('connection-refused');
  const r1 = analyze(refused.name).report;
  const ref = findings(r1, 'refused');
  assert.deepEqual(ref.map((f) => f.facts.service).sort(), refused.serverPorts.map((p) => `${refused.server}:${p}`).sort());
  assert.equal(ref.reduce((a, f) => a + (f.facts.count as number), 0), refused.connections.length);
  assert.equal(r1.summary.closeWait, 0);
  assert.match(r1.summary.verdict, /^No endpoint holds a connection in CLOSE_WAIT/);
  // Two refused services, two warnings: the verdict names the first and counts the other, instead of hiding it.
  assert.equal(ref.filter((f) => f.severity === 'warning').length, 2);
  assert.match(r1.summary.verdict, / But: 2 connection attempts to .* refused \(RST to SYN\)\. And 1 more warning below\.$/);

  const silent = truth('syn-no-answer');
  const r2 = analyze(silent.name).report;
  const nr = findings(r2, 'no_reply');
  assert.equal(nr.reduce((a, f) => a + (f.facts.count as number), 0), silent.connections.length);
  assert.deepEqual(nr.map((f) => f.facts.service).sort(), silent.serverPorts.map((p) => `${silent.server}:${p}`).sort());
});

test('TIME_WAIT is attributed to the side that closed first', () => {
  const c = truth('client-closes-first');
  const rc = analyze(c.name).report;
  const twc = findings(rc, 'time_wait');
  assert.equal(twc.length, 1);
  assert.equal(twc[0].facts.role, 'client');
  assert.equal(twc[0].facts.count, c.connections.length);
  assert.equal(twc[0].facts.closedFirst, c.connections.length);
  assert.equal(twc[0].facts.atEnd, c.flows.filter((f) => f.clientState === 'TIME_WAIT').length);

  const s = truth('server-closes-first');
  const rs = analyze(s.name).report;
  const tws = findings(rs, 'time_wait');
  assert.equal(tws.length, 1);
  assert.equal(tws[0].facts.role, 'server');
  assert.equal(tws[0].facts.host, s.server);
  assert.equal(tws[0].facts.count, s.connections.length);
  assert.equal(rs.summary.severity, 'ok');
});

test('IPv6: addresses in RFC 5952 form, grouped like IPv4', () => {
  const t = truth('ipv6-nginx-keepalive-closewait');
  const { report, db } = analyze(t.name);
  const cw = findings(report, 'close_wait');
  assert.equal(cw.length, 1);
  assert.equal(cw[0].facts.stuckHost, t.client);
  assert.equal(cw[0].facts.count, t.flows.filter((f) => f.clientState === 'CLOSE_WAIT').length);
  assert.match(textLines(db).join('\n'), /\[fd77::9:1\]:80/);
  // flows --host accepts any spelling of the address.
  const rows = JSON.parse(runCli(['flows', '--db', db, '--host', 'FD77:0:0:0:0:0:9:2', '--format', 'json']).stdout) as { orig_h: string }[];
  assert.equal(rows.length, t.connections.length);
  assert.ok(rows.every((r) => r.orig_h === t.client));
});

test('report: missing database, empty database and unknown capture are one-line errors', () => {
  const dir = tmpDir();
  const missing = path.join(dir, 'none.db');
  const r = runCli(['report', '--db', missing]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^wirestate: .*none\.db: no such database/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(fs.existsSync(missing), false);

  const { db } = analyze('server-closes-first');
  const u = runCli(['report', '--db', db, '--capture', '7']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /no capture with id 7/);
});

test('analyze on damaged captures: the report still comes, says the capture is damaged, exit code tells truncated from broken', async () => {
  const { readPcap, slicePcap } = await import('./pcap-edit');
  const p = readPcap(fixture('nginx-keepalive-closewait.pcap'));
  const dir = tmpDir();
  const cut = path.join(dir, 'cut.pcap');
  fs.writeFileSync(cut, p.buf.subarray(0, p.records[p.records.length - 1].off + 7));
  const r1 = runCli(['analyze', cut, '--db', path.join(dir, 'a.db'), '--format', 'json']);
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stderr, /^wirestate: warning: .*cut\.pcap.* at byte \d+/m);
  const rep1 = JSON.parse(r1.stdout) as Report;
  const dmg = findings(rep1, 'capture_damage');
  assert.equal(dmg.length, 1);
  assert.equal(dmg[0].severity, 'warning');
  assert.match(dmg[0].title, /cut\.pcap/);
  // Cut short at the end (tcpdump killed) is told apart from a corrupt file.
  assert.match(dmg[0].title, /^The capture ends in a truncated record/);
  assert.match(dmg[0].implication, /tcpdump was stopped/);
  assert.match(rep1.summary.verdict, /The capture ends in a truncated record \(see below\)\.$/);
  assert.equal(rep1.capture.truncated, true);
  // Everything before the cut is diagnosed exactly as a clean file of the same packets.
  const prefix = path.join(dir, 'prefix.pcap');
  fs.writeFileSync(prefix, slicePcap(p, 0, p.records.length - 1));
  const clean = JSON.parse(runCli(['analyze', prefix, '--db', path.join(dir, 'c.db'), '-q', '--format', 'json']).stdout) as Report;
  assert.deepEqual(findings(rep1, 'close_wait')[0].facts.count, findings(clean, 'close_wait')[0].facts.count);
  assert.ok((findings(rep1, 'close_wait')[0].facts.count as number) >= 17);
  assert.deepEqual(rep1.summary.byCloseKind, clean.summary.byCloseKind);

  const broken = path.join(dir, 'broken.pcap');
  const buf = Buffer.from(p.buf);
  buf.writeUInt32LE(0x7fffffff, p.records[40].off + 8);
  fs.writeFileSync(broken, buf);
  const r2 = runCli(['analyze', broken, '--db', path.join(dir, 'b.db')]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /^wirestate: error: .*broken\.pcap.* at byte \d+/m);
  assert.match(r2.stdout, /The capture file is corrupt: .*broken\.pcap/);
  assert.doesNotMatch(r2.stdout, /tcpdump was stopped/, 'broken framing mid-file is not a killed tcpdump');
  assert.match(r2.stdout, /everything after it in the file was not read/);
  assert.match(r2.stdout.replace(/\s+/g, ' '), /VERDICT \(WARNING\) .*The capture file is corrupt: connections after the damage are missing \(see below\)\./);
  for (const l of r2.stdout.split('\n')) assert.ok(l.length <= 80, l);

  // Broken at the very first record: nothing read, and the report says so instead of '? to ?'.
  const first = path.join(dir, 'first.pcap');
  const b0 = Buffer.from(p.buf);
  b0.writeUInt32LE(0x7fffffff, p.records[0].off + 8);
  fs.writeFileSync(first, b0);
  const r3 = runCli(['analyze', first, '--db', path.join(dir, 'f.db')]);
  assert.equal(r3.code, 1);
  assert.doesNotMatch(r3.stdout, /\? to \?/);
  assert.match(r3.stdout, /no packet timestamps/);
  assert.match(r3.stderr, /, TRUNCATED; \d+ B in /, 'a few bytes read are counted in bytes, not "0.0 kB"');
  assert.match(r3.stdout.replace(/\s+/g, ' '), /No packet could be read before the damage/);
});

test('analyze several rotated files, then report by capture id', async () => {
  const { readPcap, slicePcap } = await import('./pcap-edit');
  const dir = tmpDir();
  const db = path.join(dir, 'w.db');
  const p = readPcap(fixture('server-never-closes.pcap'));
  const mid = Math.floor(p.records.length / 3);
  fs.writeFileSync(path.join(dir, 'dump0'), slicePcap(p, 0, mid));
  fs.writeFileSync(path.join(dir, 'dump1'), slicePcap(p, mid, p.records.length));
  assert.equal(runCli(['ingest', fixture('client-closes-first.pcap'), '--db', db, '-q']).code, 0);
  const r = runCli(['analyze', path.join(dir, 'dump1'), path.join(dir, 'dump0'), '--db', db, '-q', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.equal(rep.capture.id, 2);
  assert.equal(rep.captures, 2);
  assert.deepEqual(rep.capture.files.map((f) => path.basename(f.path)), ['dump0', 'dump1']);
  assert.equal(findings(rep, 'close_wait')[0].facts.count, truth('server-never-closes').connections.length);
  // The earlier capture is still there, reachable with --capture.
  const first = JSON.parse(runCli(['report', '--db', db, '--capture', '1', '--format', 'json']).stdout) as Report;
  assert.equal(first.capture.id, 1);
  assert.equal(first.summary.closeWait, 0);
  // Analyzing the same files again reports on the capture that holds them.
  const again = runCli(['analyze', path.join(dir, 'dump0'), path.join(dir, 'dump1'), '--db', db, '--format', 'json']);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /already ingested as capture 2/);
  assert.equal((JSON.parse(again.stdout) as Report).capture.id, 2);
});

test('a FIN never acknowledged: a warning, unless the capture simply ended right after it', async () => {
  const { readPcap, slicePcap, tcpOf } = await import('./pcap-edit');
  const c = truth('client-closes-first');
  const p = readPcap(fixture(`${c.name}.pcap`));
  // The last connection's first FIN (sent by the client), and nothing after it.
  let fin = -1;
  for (let i = 0; i < p.records.length; i++) {
    const t = tcpOf(p, i);
    if (t && t.flags & 0x01 && t.dport === c.serverPort) fin = i;
  }
  assert.ok(fin > 0);
  const port = tcpOf(p, fin)!.sport;
  const dir = tmpDir();
  const cut = path.join(dir, 'cut-at-fin.pcap');
  fs.writeFileSync(cut, slicePcap(p, 0, fin + 1));

  const atEnd = analyze2(cut, path.join(dir, 'a.db'));
  const f1 = findings(atEnd, 'fin_unacked');
  assert.equal(f1.length, 1);
  assert.equal(f1[0].facts.count, 1);
  assert.equal(f1[0].facts.firstFinByClient, 1);
  assert.equal(f1[0].severity, 'info');
  assert.equal(f1[0].facts.atCaptureEnd, true);
  assert.equal(f1[0].evidence.sample?.orig, `${c.client}:${port}`);

  // Same packets, then a later capture file (rotation): the FIN stayed
  // unanswered for seconds while other traffic was seen, a real warning.
  const later = fixture('server-closes-first.pcap');
  const r = runCli(['analyze', cut, later, '--db', path.join(dir, 'b.db'), '-q', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const f2 = findings(JSON.parse(r.stdout) as Report, 'fin_unacked');
  assert.equal(f2.length, 1);
  assert.equal(f2[0].severity, 'warning');
  assert.equal(f2[0].facts.atCaptureEnd, false);
});

function analyze2(file: string, db: string): Report {
  const r = runCli(['analyze', file, '--db', db, '-q', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

test('every real fixture: text report fits 80 columns and says what the JSON says', async () => {
  const { realFixtures } = await import('./run-cli');
  for (const t of realFixtures()) {
    const { report, db } = analyze(t.name);
    const text = textLines(db).join('\n');
    const flat = text.replace(/\s+/g, ' ');
    assert.doesNotMatch(text, /\d\n\s+(s|ms|min|%)\b/, `${t.name}: a number split from its unit`);
    assert.ok(flat.includes(report.summary.verdict), `${t.name}: verdict`);
    for (const f of report.findings) {
      assert.ok(flat.includes(f.title), `${t.name}: title ${f.title}`);
      assert.ok(flat.includes(f.implication), `${t.name}: implication of ${f.kind}`);
      for (const d of f.details) assert.ok(flat.includes(d), `${t.name}: ${d}`);
    }
    // The endings line uses the words flows --close-kind takes, with the counts it lists.
    const endings = /^ {2}endings \(close_kind\): (.*)$/m.exec(text);
    assert.ok(endings, `${t.name}: endings line`);
    for (const [kind, n] of Object.entries(report.summary.byCloseKind)) {
      assert.ok(endings[1].includes(`${kind} ${n}`), `${t.name}: ${kind} ${n}`);
      const l = runCli(['flows', '--db', db, '--close-kind', kind, '--format', 'json', '--limit', '0']);
      assert.equal((JSON.parse(l.stdout) as unknown[]).length, n, `${t.name}: flows --close-kind ${kind}`);
      assert.equal(n, Object.values(t.closeKind).filter((k) => k === kind).length, `${t.name}: ${kind} agrees with the ground truth`);
    }
    // Connections picked up mid-stream are announced (every one of them in midstream-pickup, none elsewhere).
    assert.equal(report.summary.midstreamFlows, t.captureStartedMidstream ? t.connections.length : 0, t.name);
    assert.equal(/already open when the capture started/.test(flat), t.captureStartedMidstream, t.name);
    // CLOSE_WAIT count agrees with ss at capture end.
    const ssCw = t.flows.filter((f) => f.clientState === 'CLOSE_WAIT' || f.serverState === 'CLOSE_WAIT').length;
    assert.equal(report.summary.closeWait, ssCw, t.name);
  }
});

test('a report stays readable when there are many services: 10 findings per kind, the rest counted, --all shows them', async () => {
  const { readPcap, replicatePcap } = await import('./pcap-edit');
  const t = truth('connection-refused');
  const dir = tmpDir();
  const file = path.join(dir, 'scan.pcap');
  // 12 replicas of the real refusals, each to other ports: 24 refused services.
  replicatePcap(readPcap(fixture(`${t.name}.pcap`)), t.serverPort, 12, 5, file, { shiftServerPorts: true });
  const db = path.join(dir, 'w.db');
  const r = runCli(['analyze', file, '--db', db, '-q', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  const services = 12 * t.serverPorts.length;
  assert.equal(findings(rep, 'refused').length, 10);
  assert.deepEqual(rep.summary.omitted, { refused: services - 10 });
  assert.match(textLines(db).join('\n'), new RegExp(`Not shown: ${services - 10} more refused findings`));
  const all = JSON.parse(runCli(['report', '--db', db, '--all', '--format', 'json']).stdout) as Report;
  assert.equal(findings(all, 'refused').length, services);
  assert.equal(all.findings.filter((f) => f.kind === 'refused').reduce((a, f) => a + (f.facts.count as number), 0), 12 * t.connections.length);
  assert.deepEqual(all.summary.omitted, {});
});

test('lossy path: retransmissions attributed to the sending side, matching the sender kernel\'s count', () => {
  const t = truth('lossy-path-retransmissions');
  const flows = t.flows as unknown as { clientInfo: { retrans_total?: number } }[];
  const { report } = analyze(t.name);
  const rt = findings(report, 'retransmissions');
  const byClient = rt.find((f) => f.facts.sender === 'client');
  const clientKernel = flows.reduce((a, f) => a + (f.clientInfo.retrans_total ?? 0), 0);
  assert.ok(clientKernel > 0);
  assert.equal(byClient?.facts.retransmissions, clientKernel, 'upload: every retransmission the client kernel made crossed the capture point');
  assert.equal(byClient?.severity, 'warning');
  // The download's losses happened before the capture point: holes filled later, seen as out of order.
  const byServer = rt.find((f) => f.facts.sender === 'server');
  assert.ok(byServer && (byServer.facts.outOfOrder as number) > 0);
  assert.match(byServer.title, /lost before the capture point/);
});

test('zero window: the server whose application stops reading is named', () => {
  const t = truth('zero-window');
  const { report, db } = analyze(t.name);
  const zw = findings(report, 'zero_window');
  assert.equal(zw.length, 1);
  assert.equal(zw[0].facts.reader, 'server');
  assert.equal(zw[0].facts.service, `${t.server}:${t.serverPort}`);
  assert.equal(zw[0].facts.connections, t.connections.length);
  assert.equal(zw[0].severity, 'warning');
  assert.match(zw[0].title, /stopped reading/);
  // The client's retransmissions here are the segments the full receiver pruned (fixture README; retrans_total per
  // connection in clientInfo), not path loss: the report must point at the reader, not at the network.
  const kernelRetrans = (t.flows as unknown as { clientInfo: { retrans_total: number } | null }[]).reduce((a, f) => a + (f.clientInfo?.retrans_total ?? 0), 0);
  const rt = findings(report, 'retransmissions').filter((f) => f.facts.sender === 'client');
  assert.equal(rt.length, 1);
  assert.equal(rt[0].facts.retransmissions, kernelRetrans);
  assert.ok(rt[0].details.some((d) => /advertise a zero window/.test(d)), rt[0].details.join(' | '));
  assert.match(rt[0].implication, /^The receiver's buffer was full/);
  assert.doesNotMatch(rt[0].implication, /lossy link, or an MTU problem/);
  textLines(db);
});

test('socket owners (as live capture records them) name the leaking process in the report', async () => {
  const Database = (await import('better-sqlite3')).default;
  const t = truth('nginx-keepalive-closewait') as ReturnType<typeof truth> & { ss: { client: { state: string; localPort: number; process: string | null }[] } };
  const { db } = analyze(t.name);
  // What `wirestate live` writes from /proc: here taken from ss -tanp at capture end.
  const d = new Database(db);
  const ins = d.prepare(`INSERT INTO socket_owners (flow_id, endpoint, pid, command) SELECT id, 'orig', 4242, ? FROM flows WHERE orig_p = ?`);
  for (const s of t.ss.client) if (s.state === 'CLOSE_WAIT' && s.process) ins.run(s.process, s.localPort);
  d.close();
  const rep = JSON.parse(runCli(['report', '--db', db, '--format', 'json']).stdout) as Report;
  const cw = findings(rep, 'close_wait')[0];
  assert.deepEqual(cw.facts.owners, ['python3 (pid 4242)']);
  assert.match(cw.details[0], /on client 10\.77\.1\.2 \(python3 \(pid 4242\)\)/);
});

test('FIN never acknowledged and LAST_ACK never acknowledged (real black-holed paths): the waiting side is named', () => {
  const fin = truth('fin-never-acked');
  const r1 = analyze(fin.name).report;
  const f1 = findings(r1, 'fin_unacked');
  assert.equal(f1.reduce((a, f) => a + (f.facts.count as number), 0), fin.flows.filter((f) => f.closeKind === 'fin_unacked').length);
  const byClient = fin.flows.filter((f) => f.closeKind === 'fin_unacked' && f.firstFinBy === 'client').length;
  assert.equal(f1.filter((f) => f.facts.waiting === 'client').reduce((a, f) => a + (f.facts.count as number), 0), byClient);
  assert.ok(f1.every((f) => f.severity === 'warning' && f.facts.atCaptureEnd === false), 'the FIN was retransmitted for seconds before the capture ended');
  assert.match(f1[0].title, new RegExp(`client ${fin.client.replace(/\./g, '\\.')} stuck in FIN_WAIT_1`));
  // What the wire shows: each FIN sent again and again (ss-to-json's own count of FIN segments), and for how long.
  type Wire = { wire: { clientFin: number; serverFin: number } };
  const finResent = (fin.flows as unknown as Wire[]).reduce((a, f) => a + f.wire.clientFin - 1, 0);
  assert.ok(finResent > 0);
  assert.equal(f1[0].facts.waiterRetransmissions, finResent);
  assert.ok(f1[0].details.some((d) => d === `The client retransmitted ${finResent} segments on these connections (the FIN, with backoff).`), f1[0].details.join(' | '));
  assert.ok(!f1[0].details.some((d) => /by the server in 0/.test(d)), 'no empty counts');
  const age = f1[0].facts.unackedForS as number;
  assert.ok(age > 3 && age < fin.capture.lastTcpTs - fin.capture.firstTcpTs, `FIN unacknowledged for ${age} s`);

  const la = truth('last-ack-never-acked');
  const r2 = analyze(la.name).report;
  const f2 = findings(r2, 'last_ack_unacked');
  assert.equal(f2.reduce((a, f) => a + (f.facts.count as number), 0), la.flows.filter((f) => f.closeKind === 'last_ack_unacked').length);
  const serverWaits = la.flows.filter((f) => f.serverState === 'LAST_ACK').length;
  assert.equal(f2.filter((f) => f.facts.waiting === 'server').reduce((a, f) => a + (f.facts.count as number), 0), serverWaits);
  assert.match(f2[0].title, new RegExp(`server ${la.server.replace(/\./g, '\\.')}:${la.serverPort} stuck in LAST_ACK`));
  const lastAckResent = (la.flows as unknown as Wire[]).reduce((a, f) => a + f.wire.serverFin - 1, 0);
  assert.equal(f2[0].facts.waiterRetransmissions, lastAckResent);
  assert.ok(f2[0].details.some((d) => /^The client sent the first FIN; the server answered with its own\.$/.test(d)), f2[0].details.join(' | '));
});

test('--fail-on turns the severity into an exit status for cron and monitoring', () => {
  const { db } = analyze('nginx-keepalive-closewait');
  assert.equal(runCli(['report', '--db', db, '--fail-on', 'warning']).code, 0, 'info only');
  assert.equal(runCli(['report', '--db', db, '--fail-on', 'warning', '--warn-age', '1']).code, 3);
  assert.equal(runCli(['report', '--db', db, '--fail-on', 'critical', '--warn-age', '1']).code, 0);
  assert.equal(runCli(['report', '--db', db, '--fail-on', 'critical', '--crit-age', '1']).code, 3);
  const r = runCli(['analyze', fixture('nginx-stale-reuse-reset.pcap'), '--db', path.join(tmpDir(), 'x.db'), '-q', '--fail-on', 'warning']);
  assert.equal(r.code, 3);
  assert.match(r.stdout, /VERDICT \(WARNING\)/);
});

test('sub-second idle times are shown in milliseconds and single cases without a range (client-closes-first, ipv6, syn-no-answer)', () => {
  const cc = truth('client-closes-first');
  const { report, db } = analyze(cc.name);
  const q = runCli(['query', '--db', db, '--format', 'json', 'SELECT idle_before_fin AS s FROM flows WHERE first_fin_by = ? ORDER BY s'.replace('?', "'orig'")]);
  const idles = (JSON.parse(q.stdout) as { s: number }[]).map((r) => r.s);
  assert.equal(idles.length, cc.flows.filter((f) => f.firstFinBy === 'client').length);
  const med = idles[(idles.length - 1) / 2];
  assert.ok(med < 0.001, `the client closes right after the response (${med} s)`);
  const fp = findings(report, 'closer_fingerprint');
  assert.equal(fp.length, 1);
  // e.g. "120 µs after the last data", never "median idle 0.0 s" (nor "0.0 ms").
  assert.ok(fp[0].title.includes(`${Math.round(med * 1e6)} µs after the last data (median) in 3 of 3 cases: no idle timer`), fp[0].title);
  assert.ok(!fp[0].details.join(' ').includes('0.0 s'), fp[0].details.join(' | '));

  const v6 = truth('ipv6-nginx-keepalive-closewait');
  const r6 = analyze(v6.name, ['--no-http']).report;
  const rst = findings(r6, 'reset_after_half_close')[0];
  assert.equal(rst.facts.count, 1);
  assert.ok(rst.details.some((d) => /^Reset came \d+\.\d s after the FIN\.$/.test(d)), rst.details.join(' | '));
  assert.ok(rst.details.some((d) => /closes after 3\.0 s idle in the one case seen\.$/.test(d)), rst.details.join(' | '));
  const own = findings(r6, 'closer_fingerprint').find((f) => f.facts.role === 'client');
  assert.ok(own && /^client fd77::9:2 \(to \[fd77::9:1\]:80\) closes \d+ ms after the last data in the one case seen: no idle timer$/.test(own.title), own?.title);

  const syn = truth('syn-no-answer');
  const rs = analyze(syn.name).report;
  const nr = findings(rs, 'no_reply');
  assert.equal(nr.length, syn.serverPorts.length);
  const wire = (syn.flows as unknown as { wire: { clientSyn: number } }[]).map((f) => f.wire.clientSyn);
  for (const f of nr) {
    assert.equal(f.facts.count, 1);
    assert.ok(wire.includes(f.facts.packets as number));
    const n = f.facts.packets as number;
    assert.ok(f.details.includes(`The SYN was sent ${n} times (${n - 1} retransmissions), never answered.`), f.details.join(' | '));
    assert.ok(!f.details.some((d) => /^First at/.test(d)), 'one attempt has no first/last');
  }
});

test('text report: numbers stay with their units, timeline times in microseconds like tcpdump, causes without nested parentheses', () => {
  const t = truth('connection-refused');
  const { report, db } = analyze(t.name);
  const text = textLines(db, ['--all']).join('\n');
  // e.g. "(median idle 0.0\n s)" was split across lines.
  assert.doesNotMatch(text, /\d\n\s+(s|ms|min)\b/);
  assert.doesNotMatch(text, /\([^()\n]*\([^()\n]*\)\)/, 'no "(recv RST (refused))"');
  const sample = report.findings.find((f) => f.kind === 'refused')!.evidence.sample!;
  const first = sample.timeline[0].ts; // ISO with microseconds
  assert.ok(text.includes(`first transition at ${first.slice(0, 10)} ${first.slice(11, 26)} UTC`), first);
  for (const step of sample.timeline) {
    assert.ok(text.includes(`+${step.offsetS.toFixed(6)}s ${step.endpoint === 'orig' ? 'client' : 'server'} ${step.from} -> ${step.to}: ${step.cause}`), step.cause);
  }
  // The refusal's RST came within a millisecond of the SYN: visible, not "+0.000s".
  const rst = sample.timeline.find((s) => s.endpoint === 'resp')!;
  assert.ok(rst.offsetS > 0 && rst.offsetS < 0.001, String(rst.offsetS));
  assert.ok(text.includes(`+${rst.offsetS.toFixed(6)}s server`));
});

/** The commands a text report suggests: continuation lines joined, arguments split as a POSIX shell would (single quotes only). */
function suggested(text: string, label: string): string[][] {
  const out: string[][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== label) continue;
    let cmd = '';
    let j = i + 1;
    for (; lines[j].endsWith(' \\'); j++) cmd += `${lines[j].slice(0, -2).trim()} `;
    cmd += lines[j].trim();
    const args: string[] = [];
    for (const m of cmd.matchAll(/'([^']*)'|(\S+)/g)) args.push(m[1] ?? m[2]);
    out.push(args);
  }
  return out;
}

test('every real fixture: the report says what to type next, and those commands list exactly the evidence', () => {
  const { realFixtures } = require('./run-cli') as typeof import('./run-cli');
  const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
  let listed = 0;
  let dumped = 0;
  for (const t of realFixtures()) {
    const { report, db } = analyze(t.name, ['--all']);
    const text = textLines(db, ['--all']).join('\n');
    const cmds = suggested(text, 'List them:');
    const withList = report.findings.filter((f) => ['close_wait', 'reset_after_half_close', 'keepalive_race', 'fin_unacked', 'last_ack_unacked', 'refused', 'no_reply', 'reset', 'time_wait'].includes(f.kind));
    assert.equal(cmds.length, withList.length, `${t.name}: one command per finding with flows`);
    withList.forEach((f, i) => {
      const [prog, ...args] = cmds[i];
      assert.equal(prog, 'wirestate');
      const r = runCli([...args, '--format', 'json', '--limit', '0']);
      assert.equal(r.code, 0, `${t.name}: ${args.join(' ')}: ${r.stderr}`);
      const ids = (JSON.parse(r.stdout) as { id: number }[]).map((x) => x.id).sort((a, b) => a - b);
      assert.equal(ids.length, f.evidence.flowIds.length + f.evidence.moreFlows, `${t.name} ${f.kind}: ${args.join(' ')}`);
      for (const id of f.evidence.flowIds) assert.ok(ids.includes(id), `${t.name} ${f.kind}: flow ${id} listed`);
      listed++;
    });
    // The sample's packets: tcpdump with the suggested filter shows exactly that connection (ss-to-json's wire count).
    for (const [prog, ...args] of suggested(text, 'Its packets:')) {
      assert.equal(prog, 'tcpdump');
      if (!haveTcpdump) continue;
      const port = Number(/tcp port (\d+)/.exec(args[args.length - 1])![1]);
      const flow = (t.flows as unknown as { clientPort: number; wire: { packets: number } }[]).find((x) => x.clientPort === port);
      assert.ok(flow, `${t.name}: the filter names a client port of the fixture (${port})`);
      const out = spawnSync('tcpdump', [...args.map((a) => (a.endsWith('.pcap') ? path.resolve(repoRoot, a) : a))], { encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      assert.equal(out.stdout.trim().split('\n').length, flow.wire.packets, `${t.name}: tcpdump ${args.join(' ')}`);
      dumped++;
    }
  }
  assert.ok(listed >= 15, `${listed} commands checked`);
  if (haveTcpdump) assert.ok(dumped >= 8, `${dumped} tcpdump filters checked`);
});

test('a capture read from standard input is named as such in the report', () => {
  const db = path.join(tmpDir(), 'w.db');
  const r = runCli(['analyze', '-', '--db', db, '-q'], { input: fs.readFileSync(fixture('server-never-closes.pcap')) });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^  source: - \(standard input\)$/m);
  assert.doesNotMatch(r.stdout, /tcpdump -nr -/, 'no tcpdump hint for a file that is not there');
});

test('ingest summary and report header give the capture span in the same words', () => {
  const db = path.join(tmpDir(), 'w.db');
  const t = truth('nginx-keepalive-closewait');
  const r = runCli(['analyze', fixture(`${t.name}.pcap`), '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  const span = /, (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d to \d\d:\d\d:\d\d UTC \(\d+\.\d s\))/.exec(r.stderr);
  assert.ok(span, r.stderr);
  assert.match(r.stdout.split('\n')[2], new RegExp(`^  ${span[1].replace(/[().]/g, '\\$&')}, ${t.capture.packets} packets`));
  // The span covers the TCP packets of the ground truth.
  const first = new Date(Math.floor(t.capture.firstTcpTs) * 1000).toISOString();
  assert.ok(span[1].slice(0, 19) <= `${first.slice(0, 10)} ${first.slice(11, 19)}`, `${span[1]} starts no later than the first TCP packet ${first}`);
});

test('flows --host takes an IPv6 address as the report writes it, and says how to split host:port', () => {
  const t = truth('ipv6-nginx-keepalive-closewait');
  const { db } = analyze(t.name);
  for (const h of [t.server, `[${t.server}]`, t.server.toUpperCase()]) {
    const r = runCli(['flows', '--db', db, '--host', h, '--format', 'json']);
    assert.equal(r.code, 0, `${h}: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, t.connections.length, h);
  }
  const hp = runCli(['flows', '--db', db, '--host', `[${t.server}]:${t.serverPort}`]);
  assert.equal(hp.code, 2);
  assert.equal(hp.stderr, `wirestate: --host [${t.server}]:${t.serverPort}: give the address and the port apart: --host ${t.server} --port ${t.serverPort}\n`);
});

test('retransmissions in a capture of several interfaces carry the caution that copies of one segment count twice', () => {
  // dumpcap -i veth -i any (fixtures/formats/README.md): every packet of the veth connection is in the file twice.
  const file = fixture('formats', 'dumpcap-two-interfaces.pcapng');
  const rep = analyze2(file, path.join(tmpDir(), 'w.db'));
  assert.deepEqual(rep.capture.linktypes, [1, 113]);
  const rt = findings(rep, 'retransmissions');
  assert.ok(rt.length > 0, 'the duplicates are counted as retransmissions by the engine');
  for (const f of rt) assert.match(f.implication, /several interfaces \(link types 1, 113\).*counts as a retransmission/);
  // A single-interface Ethernet capture has no such caution.
  const lossy = analyze('lossy-path-retransmissions').report;
  assert.deepEqual(lossy.capture.linktypes, [1]);
  for (const f of findings(lossy, 'retransmissions')) assert.doesNotMatch(f.implication, /Caution/);
});

test('a capture with no decodable TCP says why there is nothing to diagnose; one flow is "1 flow"', () => {
  const unk = analyze2(fixture('formats', 'unknown-linktype.pcap'), path.join(tmpDir(), 'u.db'));
  assert.equal(unk.capture.flows, 0);
  const skipped = unk.capture.anomalies.unknown_linktype;
  assert.ok(skipped > 0 && skipped === unk.capture.packets, 'every packet has the unsupported link type');
  assert.equal(unk.summary.verdict, `No TCP connection in this capture, so nothing to diagnose: ${skipped} packets of a link type wirestate cannot decode (${unk.capture.linktypes.join(', ')}) were skipped (see wirestate stats).`);
  const db = path.join(tmpDir(), 'one.db');
  const r = runCli(['analyze', fixture('formats', 'sll2-any.pcap'), '--db', db, '-q']);
  assert.equal(r.code, 0, r.stderr);
  const rep = analyze2(fixture('formats', 'sll2-any.pcap'), db);
  assert.equal(rep.capture.flows, 1);
  assert.match(r.stdout.split('\n')[2], /, 1 flow$/);
  assert.doesNotMatch(r.stdout, /\b0\.0 (ms|s)\b/, 'sub-millisecond times in µs, not rounded to zero');
});

test('the sample timeline shows where the idle time before the FIN began: the last data packet, as tcpdump shows it', () => {
  const t = truth('nginx-keepalive-closewait');
  const { report, db } = analyze(t.name);
  const sample = findings(report, 'close_wait')[0].evidence.sample!;
  const idle = sample.idleBeforeFin!;
  assert.ok(idle && idle.afterData);
  const text = textLines(db).join('\n');
  assert.ok(text.includes(`    ${`+${idle.offsetS.toFixed(6)}s`.padStart(12)}        last data; ${idle.idleS.toFixed(1)} s idle until the first FIN`), text);
  // The offsets are right-aligned: "+0.000431s" and "+65.023392s" end in the same column.
  const ends = text.split('\n').filter((l) => /^ +\+\d+\.\d{6}s /.test(l)).map((l) => l.indexOf('s '));
  assert.ok(ends.length >= sample.timeline.length + 1);
  assert.equal(new Set(ends).size, 1, 'offset column aligned');
  if (spawnSync('tcpdump', ['--version']).status !== 0) return;
  const [h, p] = /^(.*):(\d+)$/.exec(sample.orig)!.slice(1);
  const out = spawnSync('tcpdump', ['-nr', fixture(`${t.name}.pcap`), '-ttttt', `host ${h} and tcp port ${p}`], { encoding: 'utf8' }).stdout.trim().split('\n');
  const secs = (l: string) => {
    const [hh, mm, ss] = l.trim().split(' ')[0].split(':').map(Number);
    return hh * 3600 + mm * 60 + ss;
  };
  const fin = out.findIndex((l) => /Flags \[F/.test(l));
  const lastData = out.slice(0, fin).filter((l) => / length [1-9]\d*/.test(l)).pop()!;
  assert.ok(Math.abs(secs(lastData) - idle.offsetS) < 2e-6, `${lastData} vs +${idle.offsetS}`);
  assert.ok(Math.abs(secs(out[fin]) - secs(lastData) - idle.idleS) < 2e-6);
});

test('analyze states what the capture could see and its vantage point once: in the report header, not also after the ingest summary', () => {
  const db = path.join(tmpDir(), 'once.db');
  const r = runCli(['analyze', fixture('keepalive-race-rst.pcap'), '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^ingested capture 1 into .*\n$/, 'stderr: the ingest summary line alone');
  assert.equal(r.stdout.split('\n').filter((l) => l.includes('vantage point:')).length, 1);
  const alone = runCli(['ingest', fixture('keepalive-race-rst.pcap'), '--db', path.join(tmpDir(), 'alone.db')]);
  assert.match(alone.stderr, /\n  vantage point: unknown /, 'ingest on its own still says it');
});
