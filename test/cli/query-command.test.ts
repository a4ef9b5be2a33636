import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { runCli, tmpDir, truth } from './run-cli';

const t = truth('nginx-stale-reuse-reset');
let db = '';

before(() => {
  db = path.join(tmpDir(), 'w.db');
  const r = runCli(['ingest', fixture(`${t.name}.pcap`), '--db', db, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
});

function counts(): string {
  return runCli(['query', '--db', db, '--format', 'csv', 'SELECT (SELECT count(*) FROM captures), (SELECT count(*) FROM flows), (SELECT count(*) FROM transitions)']).stdout;
}

test('query answers "how long was each side in CLOSE_WAIT" from the close_wait view, in every format', () => {
  const sql = 'SELECT stuck_h, stuck_p, peer_p, stuck_s FROM close_wait ORDER BY stuck_p';
  const stuck = t.flows.filter((f) => f.clientState === 'CLOSE_WAIT').map((f) => f.clientPort).sort((a, b) => a - b);

  const json = runCli(['query', '--db', db, '--format', 'json', sql]);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as { stuck_h: string; stuck_p: number; peer_p: number; stuck_s: number }[];
  assert.deepEqual(rows.map((r) => r.stuck_p), stuck);
  for (const r of rows) {
    assert.equal(r.stuck_h, t.client);
    assert.equal(r.peer_p, 80);
    assert.ok(r.stuck_s > 0);
  }

  const nd = runCli(['query', '--db', db, '--format', 'ndjson', sql]);
  assert.deepEqual(nd.stdout.trim().split('\n').map((l) => JSON.parse(l)), rows);

  const csv = runCli(['query', '--db', db, '--format', 'csv', sql]);
  const lines = csv.stdout.trim().split('\r\n');
  assert.equal(lines[0], 'stuck_h,stuck_p,peer_p,stuck_s');
  assert.deepEqual(lines.slice(1).map((l) => Number(l.split(',')[1])), stuck);

  const table = runCli(['query', '--db', db, sql]);
  const tl = table.stdout.trim().split('\n');
  assert.match(tl[0], /^stuck_h\s+stuck_p\s+peer_p\s+stuck_s$/);
  assert.match(tl[1], /^-+ +-+/);
  assert.equal(tl[tl.length - 1], `(${stuck.length} rows)`);
});

test('query refuses every statement that would modify the database, and the data stays', () => {
  const before = counts();
  for (const sql of ['DELETE FROM flows', "INSERT INTO captures (source, kind, ingested_at) VALUES ('x', 'file', 0)", 'DROP TABLE flows', 'UPDATE flows SET close_kind = 1', 'CREATE TABLE x (a)', 'PRAGMA user_version = 9', "ATTACH DATABASE '/tmp/x.db' AS x", "PRAGMA query_only = OFF", "VACUUM"]) {
    const r = runCli(['query', '--db', db, sql]);
    assert.equal(r.code, 2, `${sql}: ${r.stderr}`);
    assert.match(r.stderr, /^wirestate: /);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(counts(), before);
});

test('a SQL error prints SQLite\'s message and exits 2', () => {
  const r = runCli(['query', '--db', db, 'SELECT nope FROM flows']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'wirestate: SQL error: no such column: nope\n');
  const two = runCli(['query', '--db', db, 'SELECT 1; SELECT 2']);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /SQL error: .*more than one statement/);
});

test('query on a missing database says so and creates nothing', () => {
  const missing = path.join(tmpDir(), 'absent.db');
  const r = runCli(['query', '--db', missing, 'SELECT 1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /absent\.db: no such database/);
  assert.equal(fs.existsSync(missing), false);
});

test('flows lists without SQL: --state, --close-kind, --host, --port, --limit', () => {
  const cw = runCli(['flows', '--db', db, '--state', 'close-wait', '--format', 'json']);
  assert.equal(cw.code, 0, cw.stderr);
  const rows = JSON.parse(cw.stdout) as { orig_p: number; orig_state: string; resp_state: string; orig_for_s: number }[];
  assert.deepEqual(
    rows.map((r) => r.orig_p).sort((a, b) => a - b),
    t.flows.filter((f) => f.clientState === 'CLOSE_WAIT').map((f) => f.clientPort).sort((a, b) => a - b),
  );
  for (const r of rows) {
    assert.equal(r.orig_state, 'CLOSE_WAIT');
    assert.equal(r.resp_state, 'FIN_WAIT_2');
    assert.ok(r.orig_for_s > 0);
  }
  const rst = JSON.parse(runCli(['flows', '--db', db, '--close-kind', 'reset_after_half_close', '--format', 'json']).stdout) as { orig_p: number }[];
  assert.deepEqual(rst.map((r) => r.orig_p).sort(), t.flows.filter((f) => f.closeKind === 'reset_after_half_close').map((f) => f.clientPort).sort());
  const host = JSON.parse(runCli(['flows', '--db', db, '--host', t.server, '--port', '80', '--format', 'json']).stdout) as unknown[];
  assert.equal(host.length, t.connections.length);
  const none = JSON.parse(runCli(['flows', '--db', db, '--host', '192.0.2.1', '--format', 'json']).stdout) as unknown[];
  assert.equal(none.length, 0);
  const lim = runCli(['flows', '--db', db, '--limit', '2']);
  assert.match(lim.stdout, /\(2 rows\)\n\(stopped at --limit 2; --limit 0 lists all\)\n$/);
  const bad = runCli(['flows', '--db', db, '--state', 'sleepy']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /sleepy/);
});

test('flows --side: --state, --host and --port on one endpoint (the server\'s FIN_WAIT_2 against the client\'s CLOSE_WAIT)', () => {
  const ports = (...args: string[]) => {
    const r = runCli(['flows', '--db', db, '--format', 'json', '--limit', '0', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { orig_p: number }[]).map((x) => x.orig_p).sort((a, b) => a - b);
  };
  const of = (pick: (f: (typeof t.flows)[number]) => boolean) => t.flows.filter(pick).map((f) => f.clientPort).sort((a, b) => a - b);
  assert.ok(of((f) => f.clientState === 'CLOSE_WAIT').length > 0);
  assert.deepEqual(ports('--state', 'CLOSE_WAIT', '--side', 'client'), of((f) => f.clientState === 'CLOSE_WAIT'));
  assert.deepEqual(ports('--state', 'CLOSE_WAIT', '--side', 'server'), of((f) => f.serverState === 'CLOSE_WAIT'));
  assert.deepEqual(ports('--state', 'FIN_WAIT_2', '--side', 'resp'), of((f) => f.serverState === 'FIN_WAIT_2'));
  assert.deepEqual(ports('--state', 'FIN_WAIT_2', '--side', 'orig'), of((f) => f.clientState === 'FIN_WAIT_2'));
  assert.equal(ports('--host', t.server, '--side', 'server').length, t.connections.length);
  assert.deepEqual(ports('--host', t.server, '--side', 'client'), []);
  assert.deepEqual(ports('--port', '80', '--side', 'client'), []);
  const alone = runCli(['flows', '--db', db, '--side', 'server']);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /^wirestate: --side applies to --state, --host or --port/);
  const bad = runCli(['flows', '--db', db, '--side', 'left', '--port', '80']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /client \(or orig\) or server \(or resp\)/);
});

test('flows --client and --server: one endpoint each, with or without its port, as the report writes them; bad values are one-line usage errors', () => {
  const ports = (...args: string[]) => {
    const r = runCli(['flows', '--db', db, '--format', 'json', '--limit', '0', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { orig_p: number }[]).map((x) => x.orig_p).sort((a, b) => a - b);
  };
  const all = t.flows.map((f) => f.clientPort).sort((a, b) => a - b);
  assert.deepEqual(ports('--client', t.client, '--server', `${t.server}:80`), all);
  assert.deepEqual(ports('--server', t.server), all);
  assert.deepEqual(ports('--server', `${t.server}:81`), []);
  assert.deepEqual(ports('--client', t.server), []);
  const one = t.flows[0].clientPort;
  assert.deepEqual(ports('--client', `${t.client}:${one}`), [one]);
  for (const [args, msg] of [
    [['--server', 'example.com:80'], /^wirestate: --server example\.com:80: not an IPv4 or IPv6 address/],
    [['--client', `${t.client}:70000`], /^wirestate: --client \S+: the port must be from 0 to 65535\n$/],
  ] as const) {
    const r = runCli(['flows', '--db', db, ...args]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, msg);
  }
});

test('flows --server [v6]:port: an IPv6 service as the report writes it, any spelling of the address', () => {
  const v6 = truth('ipv6-nginx-keepalive-closewait');
  const db6 = path.join(tmpDir(), 'v6.db');
  assert.equal(runCli(['ingest', fixture(`${v6.name}.pcap`), '--db', db6, '--quiet']).code, 0);
  const groups = v6.server.split(':').filter(Boolean).length;
  const expanded = v6.server.replace('::', `:${Array(8 - groups).fill('0').join(':')}:`);
  assert.equal(expanded.split(':').length, 8);
  for (const spelling of [`[${v6.server}]:80`, `[${expanded}]:80`, v6.server]) {
    const r = runCli(['flows', '--db', db6, '--format', 'json', '--limit', '0', '--server', spelling]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, v6.flows.length, spelling);
  }
});

test('flows: state names as the report prints them (CLOSE_WAIT) or as ss does (close-wait); readable table; --limit note only when rows were left out', () => {
  const stuck = t.flows.filter((f) => f.clientState === 'CLOSE_WAIT').map((f) => f.clientPort).sort((a, b) => a - b);
  for (const spelling of ['CLOSE_WAIT', 'close-wait', 'Close_Wait']) {
    const r = runCli(['flows', '--db', db, '--state', spelling, '--format', 'json']);
    assert.equal(r.code, 0, `${spelling}: ${r.stderr}`);
    assert.deepEqual((JSON.parse(r.stdout) as { orig_p: number }[]).map((x) => x.orig_p).sort((a, b) => a - b), stuck, spelling);
  }
  const ck = runCli(['flows', '--db', db, '--close-kind', 'RESET-AFTER-HALF-CLOSE', '--format', 'json']);
  assert.equal(ck.code, 0, ck.stderr);
  assert.equal((JSON.parse(ck.stdout) as unknown[]).length, t.flows.filter((f) => f.closeKind === 'reset_after_half_close').length);

  const table = runCli(['flows', '--db', db]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^id +orig +resp +orig_state +resp_state +in_state_s +close_kind +fin_by +idle_s$/);
  for (const l of lines.slice(2, -1)) {
    assert.doesNotMatch(l, /NULL/, 'open flows show - for no FIN, not SQL NULL');
    // Seconds always with three decimals, so the column lines up ("3.000", not "3").
    const cells = l.trim().split(/ +/);
    assert.match(cells[5], /^\d+\.\d{3}$/, l);
    assert.match(cells[8], /^(\d+\.\d{3}|-)$/, l);
  }
  // Exactly as many rows as --limit: nothing was left out, so no note.
  const n = t.connections.length;
  const exact = runCli(['flows', '--db', db, '--limit', String(n)]);
  assert.match(exact.stdout, new RegExp(`\\(${n} rows\\)\\n$`));
  const cut = runCli(['flows', '--db', db, '--limit', String(n - 1)]);
  assert.match(cut.stdout, /\(stopped at --limit \d+; --limit 0 lists all\)\n$/);
});

test('query table: seconds computed by subtraction shown to the microsecond, not with float noise; JSON keeps the value', () => {
  const sql = 'SELECT flow_id, stuck_s, since_ts FROM close_wait ORDER BY flow_id';
  const json = JSON.parse(runCli(['query', '--db', db, '--format', 'json', sql]).stdout) as { flow_id: number; stuck_s: number; since_ts: number }[];
  assert.equal(json.length, t.flows.filter((f) => f.clientState === 'CLOSE_WAIT').length);
  const table = runCli(['query', '--db', db, sql]).stdout.trimEnd().split('\n').slice(2, -1);
  assert.equal(table.length, json.length);
  table.forEach((line, i) => {
    const [id, stuck, since] = line.trim().split(/ +/);
    assert.equal(Number(id), json[i].flow_id);
    assert.match(stuck, /^\d+(\.\d{1,6})?$/, line);
    // One number of decimals per column: the decimal points line up.
    assert.equal(since.split('.')[1]?.length, 6, line);
    assert.equal(line.indexOf('.', line.indexOf(stuck)), table[0].indexOf('.', table[0].indexOf(table[0].trim().split(/ +/)[1])), line);
    assert.ok(Math.abs(Number(stuck) - json[i].stuck_s) < 1e-6, line);
    assert.equal(Number(since), Number(json[i].since_ts.toFixed(6)));
  });
});
