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
  const named = rep.findings.filter((f: Finding) => f.kind === 'http_software');
  assert.equal(named.length, 1);
  const f = named[0];
  assert.match(f.title, /^client 10\.77\.40\.2 \(Apache-HttpClient\/4\.5\.\d+ \(Java\/[\d.]+\)\) leaks connections to server 10\.77\.40\.1:80 \(nginx\/1\.\d+\.\d+\), which closes after 4\.0 s idle$/);
  assert.equal(f.facts.clientSoftware, 'Apache HttpClient');
  assert.equal(f.facts.serverSoftware, 'nginx');
  assert.equal(f.facts.leaked, rows.length);
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
  assert.ok(!report(db).findings.some((f: Finding) => f.kind === 'http_software'));
  assert.ok(report(withHttp).findings.some((f: Finding) => f.kind === 'http_software'));
});
