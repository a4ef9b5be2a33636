import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { runCli, tmpDir } from '../cli/run-cli';
import type { Finding, Report } from '../../src/report/report-types';

/**
 * The application-layer fixtures (fixtures/make/: real Java, Go, curl,
 * openssl, nginx and Node.js over kernel TCP) through the built CLI: ingest,
 * flows --format json and report --format json.
 */
function ingest(name: string): string {
  const db = path.join(tmpDir(), `${name}.db`);
  const r = runCli(['ingest', fixture(`${name}.pcap`), '--db', db, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  return db;
}

function report(db: string): Report {
  const r = runCli(['report', '--db', db, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

type FlowRow = Record<string, string | number | null>;
function flows(db: string, ...args: string[]): FlowRow[] {
  const r = runCli(['flows', '--db', db, '--format', 'json', '--limit', '0', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as FlowRow[];
}

test('Apache HttpClient 4.5 against nginx: the report names both programs, the server timeout and the HttpClient setting', () => {
  const truth = JSON.parse(fs.readFileSync(fixture('apache-httpclient-nginx-closewait.json'), 'utf8')) as { closeKind: Record<string, string> };
  const db = ingest('apache-httpclient-nginx-closewait');
  const rows = flows(db);
  assert.equal(rows.length, Object.keys(truth.closeKind).length);
  for (const r of rows) {
    assert.equal(r.close_kind, truth.closeKind[String(r.orig_p)]);
    assert.match(String(r.user_agent), /^Apache-HttpClient\/4\.5\.\d+ \(Java\/\d+/);
    assert.match(String(r.server), /^nginx\/1\./);
    assert.equal(r.requests, 1);
    assert.equal(r.responses, 1);
  }
  const rep = report(db);
  // The leak's own finding names both programs and the setting: the first thing read, and the verdict.
  const named = rep.findings.filter((f: Finding) => f.kind === 'close_wait');
  assert.equal(named.length, 1);
  const f = named[0];
  assert.equal(rep.findings[0], f);
  assert.match(
    f.title,
    /^client 10\.77\.40\.2 \(Apache-HttpClient\/4\.5\.\d+ \(Java\/[\d.]+\)\) leaks connections to server 10\.77\.40\.1:80 \(nginx\/1\.\d+\.\d+\), which closes after 4\.0 s idle: 4 in CLOSE_WAIT, oldest \d+ ms$/,
  );
  assert.ok(rep.summary.verdict.startsWith(f.title), rep.summary.verdict);
  const sw = f.facts.software as Record<string, unknown>;
  assert.equal(sw.clientSoftware, 'Apache HttpClient');
  assert.equal(sw.serverSoftware, 'nginx');
  assert.equal(f.facts.count, rows.length);
  assert.ok(f.details.some((d) => /^Client software: Apache-HttpClient\/4\.5\.\d+ \(Java\/[\d.]+\) = Apache HttpClient; server software: nginx\/1\.\d+\.\d+ = nginx\.$/.test(d)));
  assert.match(f.implication, /evictIdleConnections/);
  assert.match(f.implication, /setValidateAfterInactivity/);
  assert.match(f.implication, /keepalive_timeout/);
});

test('a real keep-alive race (Go client, Node.js server): the keepalive_race count equals the client\'s FAILED log, port for port', () => {
  const log = fs.readFileSync(fixture('keepalive-race.client.log'), 'utf8').split('\n');
  const failed = log.filter((l) => l.startsWith('FAILED ')).map((l) => Number(l.split(' ')[1])).sort((a, b) => a - b);
  assert.ok(failed.length > 0, 'the fixture holds races');
  const db = ingest('keepalive-race');
  const races = flows(db, '--close-kind', 'keepalive_race');
  assert.deepEqual(races.map((r) => Number(r.orig_p)).sort((a, b) => a - b), failed);
  assert.equal(races.reduce((a, r) => a + Number(r.race_requests), 0), failed.length);
  for (const r of races) {
    assert.equal(r.close_kind, 'reset_after_half_close');
    assert.ok(Number(r.fin_to_request) >= 0 && Number(r.fin_to_request) < 0.5, `FIN -> request ${r.fin_to_request} s`);
    assert.equal(r.race_signal, 'fin');
    assert.equal(r.signal_to_request, r.fin_to_request);
  }
  const rep = report(db);
  const race = rep.findings.filter((f: Finding) => f.kind === 'keepalive_race');
  assert.equal(race.length, 1);
  assert.equal(race[0].facts.lostRequests, failed.length);
  assert.equal(race[0].facts.connections, failed.length);
  assert.ok(Math.abs((race[0].facts.serverIdleTimeoutS as number) - 2.0) < 0.05, 'Node 20 closes after keepAliveTimeout + 1 s');
  assert.equal(race[0].facts.mismatch, true);
  assert.match(race[0].title, /Go-http-client\/1\.1/);
  assert.match(race[0].implication, /IdleConnTimeout/);
});

test('a real keep-alive race answered by a bare RST (Node.js http.Agent, python3 server closing 40 ms after its idle timer): races = the client\'s FAILED log = the server\'s unread-RST closes', () => {
  const truth = JSON.parse(fs.readFileSync(fixture('keepalive-race-rst.json'), 'utf8')) as { closeKind: Record<string, string>; connections: number[] };
  const ports = (lines: string[], re: RegExp) => lines.map((l) => re.exec(l)).filter((m) => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b);
  const log = fs.readFileSync(fixture('keepalive-race-rst.client.log'), 'utf8').split('\n');
  const failed = ports(log, /^FAILED (\d+) reused=true .* ECONNRESET read /);
  assert.equal(failed.length, log.filter((l) => l.startsWith('FAILED ')).length, 'every failure was an ECONNRESET on a reused connection');
  const reusedOk = ports(log, /^OK (\d+) reused=true /);
  assert.ok(failed.length > 0 && reusedOk.length > 0, 'the fixture holds races and answered reuses');
  const serverLog = fs.readFileSync(fixture('keepalive-race-rst.server.log'), 'utf8').split('\n');
  assert.deepEqual(ports(serverLog, /^IDLE-CLOSE (\d+) unread=[1-9]\d* RST$/), failed, 'the server reset exactly those, each with the request unread');
  const finCloses = ports(serverLog, /^IDLE-CLOSE (\d+) unread=0 FIN$/);
  assert.ok(finCloses.length > 0, 'and closed others idle with FIN');

  const db = ingest('keepalive-race-rst');
  const rows = flows(db);
  assert.equal(rows.length, truth.connections.length);
  for (const r of rows) assert.equal(r.close_kind, truth.closeKind[String(r.orig_p)], `TCP close kind of ${r.orig_p}`);
  const races = rows.filter((r) => r.app_close_kind === 'keepalive_race');
  assert.deepEqual(races.map((r) => Number(r.orig_p)).sort((a, b) => a - b), failed, 'keepalive_race = the FAILED ports');
  assert.equal(races.reduce((a, r) => a + Number(r.race_requests), 0), failed.length);
  for (const r of races) {
    assert.equal(r.close_kind, 'reset');
    assert.equal(r.first_fin_by, null);
    assert.equal(r.race_signal, 'rst');
    assert.equal(r.fin_to_request, null, 'no FIN, no FIN delay');
    const d = Number(r.signal_to_request);
    assert.ok(d < 0 && d > -0.1, `the RST answered the request: request - RST = ${d} s`);
    assert.ok(Number(r.longest_reuse_idle) > 2.0, 'reused after the server\'s 2 s idle timer');
    assert.equal(Number(r.requests) - Number(r.responses), 1, 'the answered reuses before it are not counted');
  }
  // Not over-firing: the server's FIN closes and the connections whose every reuse was answered are no race.
  const answeredOnly = reusedOk.filter((p) => !failed.includes(p));
  assert.ok(answeredOnly.length > 0);
  for (const p of [...finCloses, ...answeredOnly]) {
    const r = rows.find((x) => Number(x.orig_p) === p) as FlowRow;
    assert.equal(r.app_close_kind, null, `port ${p}`);
    assert.equal(r.race_signal, null);
  }

  const rep = report(db);
  const race = rep.findings.filter((f: Finding) => f.kind === 'keepalive_race');
  assert.equal(race.length, 1);
  const f = race[0];
  assert.equal(f.facts.connections, failed.length);
  assert.equal(f.facts.lostRequests, failed.length);
  assert.equal(f.facts.rstConnections, failed.length);
  assert.equal(f.facts.finConnections, 0);
  assert.match(f.title, new RegExp(`^keep-alive race: server 10\\.77\\.44\\.1:8080 \\(idle-close-server/1\\.0 \\(python3\\)\\) reset ${failed.length} reused connections with a request unread from client 10\\.77\\.44\\.2$`));
  assert.ok(f.details.some((d) => /bare RST, never a FIN/.test(d)));
  assert.ok(f.details.some((d) => /^The RST followed the request by \d+ ms/.test(d)));
  // The server's idle closes with FIN come 2.04 s after the response; so do its RSTs.
  assert.ok(Math.abs((f.facts.serverIdleTimeoutS as number) - 2.04) < 0.03);
  for (const s of f.facts.idleAtRstS as number[]) assert.ok(Math.abs(s - (f.facts.serverIdleTimeoutS as number)) < 0.05, `idle at RST ${s} s`);
  assert.match(f.implication, /ECONNRESET/);
  assert.match(f.implication, /idle timeout for pooled connections must be shorter than the server's/);
  assert.equal(f.facts.server, 'idle-close-server/1.0 (python3)');
  assert.equal(f.facts.serverSoftware, null, 'not in the table: no setting is guessed');
  assert.ok(f.details.includes('Client software: not named (no User-Agent); server software: idle-close-server/1.0 (python3).'));
  // The races are bare RSTs too; the generic RST finding leaves them to the race finding, unless HTTP was not parsed.
  const resetCount = (r: Report) => r.findings.filter((x: Finding) => x.kind === 'reset').reduce((a, x) => a + Number(x.facts.count), 0);
  const resets = rows.filter((r) => r.close_kind === 'reset').length;
  assert.equal(resetCount(rep), resets - failed.length);
  const bare = path.join(tmpDir(), 'keepalive-race-rst-no-http.db');
  assert.equal(runCli(['ingest', fixture('keepalive-race-rst.pcap'), '--db', bare, '--quiet', '--no-http']).code, 0);
  assert.equal(resetCount(report(bare)), resets);
});

test('curl with Connection: close: recorded as asked by both sides, one exchange per connection, no race', () => {
  const db = ingest('curl-connection-close');
  const rows = flows(db);
  assert.equal(rows.length, 1);
  for (const r of rows) {
    assert.equal(r.connection_close_by, 'both');
    assert.match(String(r.user_agent), /^curl\//);
    assert.equal(r.requests, 1);
    assert.equal(r.app_close_kind, null);
  }
});

test('TLS: the ClientHello SNI is recorded and nothing else is parsed', () => {
  const db = ingest('tls-sni');
  const rows = flows(db);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].tls_sni, 'api.wirestate.test');
  assert.equal(rows[0].requests, 0);
  const q = runCli(['query', '--db', db, '--format', 'json', 'SELECT protocol, parse_stop FROM http_flows']);
  assert.deepEqual(JSON.parse(q.stdout), [{ protocol: 'tls', parse_stop: 'tls' }]);
});

test('--no-http: the same flows, no HTTP facts stored and none named in the report', () => {
  const name = 'apache-httpclient-nginx-closewait';
  const withHttp = ingest(name);
  const db = path.join(tmpDir(), `${name}-nohttp.db`);
  const r = runCli(['ingest', fixture(`${name}.pcap`), '--db', db, '--quiet', '--no-http']);
  assert.equal(r.code, 0, r.stderr);
  const httpRows = (d: string) => Number(runCli(['query', '--db', d, '--format', 'csv', 'SELECT count(*) AS n FROM http_flows']).stdout.split('\n')[1]);
  assert.ok(httpRows(withHttp) > 0);
  assert.equal(httpRows(db), 0);
  const key = (rows: FlowRow[]) => rows.map((f) => `${f.orig_p} ${f.orig_state} ${f.resp_state} ${f.close_kind} ${f.history}`);
  assert.deepEqual(key(flows(db)), key(flows(withHttp)));
  const leak = (d: string) => report(d).findings.find((f: Finding) => f.kind === 'close_wait') as Finding;
  assert.equal(leak(db).facts.software, null);
  assert.doesNotMatch(leak(db).title, /Apache|nginx/);
  assert.match(leak(withHttp).title, /Apache-HttpClient.*nginx/);
});
