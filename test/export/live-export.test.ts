import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { cliPath } from '../helpers/paths';
import { ClickHouseServer, clickhouseForFile, clickhouseUnavailable } from '../helpers/clickhouse-server';
import { liveUnavailable, waitForExit, waitForLine, waitForSettled } from '../host/netns';
import { HostLink } from './host-link';
import { clickhouseFlows, clickhouseTimeline, clickhouseTransitions, duplicateKeys, sqliteFlows, sqliteTimeline, sqliteTransitions } from './store-vs-clickhouse';

const why = clickhouseUnavailable() ?? liveUnavailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ch: ClickHouseServer;
let dir: string;
const DB = 'fleet_live';

clickhouseForFile(why, 'wse-live-export-', (c, d) => {
  ch = c;
  dir = d;
}, DB);

function startLive(link: HostLink, db: string, label: string, extra: string[] = []): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [cliPath, 'live', '-i', link.ifname, '--db', db, '--flush-every', '0.3', '--no-owners', '--export', ch.url(DB), '--host-label', label, ...extra, 'tcp', 'port', String(link.port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  return { child, stderr: () => err };
}

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(100);
  }
}

async function sameRows(db: string, label: string): Promise<boolean> {
  try {
    const [a, b] = [await clickhouseFlows(ch, DB, label), sqliteFlows(db)];
    return JSON.stringify(a) === JSON.stringify(b) && b.length > 0;
  } catch {
    return false;
  }
}

test('two live captures export to one ClickHouse as two hosts; ClickHouse killed mid-capture and restarted: the backlog drains, rows equal SQLite, no duplicates', { skip: why ?? false }, async () => {
  const a = new HostLink();
  const b = new HostLink();
  try {
    await a.startServer();
    await b.startServer();
    const dbA = path.join(dir, 'a.db');
    const dbB = path.join(dir, 'b.db');
    const la = startLive(a, dbA, 'app-a');
    const lb = startLive(b, dbB, 'app-b');
    // From what startLive collects (a listener attached later would miss a banner already printed).
    await until('both captures running', () => /capturing on/.test(la.stderr()) && /capturing on/.test(lb.stderr()), 30000);
    const exitA = waitForExit(la.child, 90000);
    const exitB = waitForExit(lb.child, 90000);

    a.connect(['leak', 'close', 'leak']);
    b.connect(['leak', 'leak', 'close', 'leak']);
    await waitForSettled(a.ns, a.port, ['CLOSE-WAIT'], 2);
    await waitForSettled(b.ns, b.port, ['CLOSE-WAIT'], 3);
    // Live snapshots of the active (CLOSE_WAIT) flows reach ClickHouse while the captures run.
    await until('host a in ClickHouse', () => sameRows(dbA, 'app-a'));
    await until('host b in ClickHouse', () => sameRows(dbB, 'app-b'));
    // close_wait joins the capture row, which a round sends after its flows: wait for it too.
    const closeWaitByHost = async () =>
      (await ch.rows<{ host: string; n: string }>(`SELECT host, count() AS n FROM ${DB}.close_wait GROUP BY host ORDER BY host`)).map((r) => `${r.host}=${r.n}`);
    await until('both capture rows in ClickHouse', async () => (await closeWaitByHost()).length === 2);
    assert.deepEqual(await closeWaitByHost(), ['app-a=2', 'app-b=3']);

    // ClickHouse dies; both captures go on writing SQLite and say the export waits.
    await ch.kill();
    a.connect(['leak', 'close']);
    b.connect(['close', 'leak']);
    await until('host a flows in SQLite while ClickHouse is down', () => sqliteFlows(dbA).length === 5);
    await until('host b flows in SQLite while ClickHouse is down', () => sqliteFlows(dbB).length === 6);
    await until('the export says it waits', () => /export: .*ClickHouse unreachable.*capture goes on to SQLite, retrying/.test(la.stderr()) && /retrying/.test(lb.stderr()));
    for (const err of [la.stderr(), lb.stderr()]) {
      for (const l of err.trim().split('\n')) assert.match(l, /^wirestate: /, 'every message one line');
    }
    await sleep(1000);
    await ch.start();
    // The backlog drains while the captures still run.
    await until('host a caught up after the restart', () => sameRows(dbA, 'app-a'), 40000);
    await until('host b caught up after the restart', () => sameRows(dbB, 'app-b'), 40000);
    await until('the export says it caught up', () => /answers again, catching up/.test(la.stderr()) && /answers again/.test(lb.stderr()));

    la.child.kill('SIGINT');
    lb.child.kill('SIGINT');
    const [ea, eb] = [await exitA, await exitB];
    assert.equal(ea.code, 0, ea.stderr);
    assert.equal(eb.code, 0, eb.stderr);
    assert.match(ea.stdout, new RegExp(`export: capture 1 all sent to ${ch.url(DB).replace(/[./]/g, '\\$&')} as app-a`));

    // Flow for flow, transition for transition, and never twice.
    assert.deepEqual(await clickhouseFlows(ch, DB, 'app-a'), sqliteFlows(dbA));
    assert.deepEqual(await clickhouseFlows(ch, DB, 'app-b'), sqliteFlows(dbB));
    assert.deepEqual(await clickhouseTransitions(ch, DB, 'app-a'), sqliteTransitions(dbA));
    assert.deepEqual(await clickhouseTransitions(ch, DB, 'app-b'), sqliteTransitions(dbB));
    assert.equal(await duplicateKeys(ch, DB), 0);
    // At stop each capture is complete, so its state timeline went too.
    assert.ok((await clickhouseTimeline(ch, DB, 'app-a')).length > 0);
    assert.deepEqual(await clickhouseTimeline(ch, DB, 'app-a'), sqliteTimeline(dbA));
    assert.deepEqual(await clickhouseTimeline(ch, DB, 'app-b'), sqliteTimeline(dbB));
    const caps = await ch.rows<{ host: string; completed: number; flows: string }>(`SELECT host, completed, flows FROM ${DB}.captures FINAL ORDER BY host`);
    assert.deepEqual(caps.map((c) => `${c.host} ${c.completed} ${c.flows}`), ['app-a 1 5', 'app-b 1 6']);
    const stuck: Record<string, number> = {};
    for (const [db, label] of [[dbA, 'app-a'], [dbB, 'app-b']]) {
      const d = new Database(db, { readonly: true });
      const cur = d.prepare('SELECT complete, last_error FROM export_cursors').all();
      stuck[label] = (d.prepare(`SELECT count(*) AS n FROM close_wait WHERE stuck_side = 'resp' AND stuck_p = 8080`).get() as { n: number }).n;
      d.close();
      assert.deepEqual(cur, [{ complete: 1, last_error: null }]);
    }
    assert.deepEqual(stuck, { 'app-a': 3, 'app-b': 4 });

    // The fleet report groups both hosts' leaks on their port 8080 into one finding.
    const rep = spawnSync(process.execPath, [cliPath, 'report', '--clickhouse', ch.url(DB), '--format', 'json'], { encoding: 'utf8' });
    assert.equal(rep.status, 0, rep.stderr);
    const fleet = JSON.parse(rep.stdout) as { hosts: Array<{ host: string }>; closeWait: Array<{ group: string; side: string; hosts: string[]; sockets: number; perHost: Array<{ host: string; sockets: number }> }> };
    assert.deepEqual(fleet.hosts.map((h) => h.host), ['app-a', 'app-b']);
    assert.deepEqual(fleet.closeWait.map((g) => `${g.side} ${g.group} ${g.hosts.join(',')} ${g.sockets}`), ['server port 8080 app-a,app-b 7']);
    assert.deepEqual(Object.fromEntries(fleet.closeWait[0].perHost.map((h) => [h.host, h.sockets])), stuck);
    const text = spawnSync(process.execPath, [cliPath, 'report', '--clickhouse', ch.url(DB)], { encoding: 'utf8' });
    assert.match(text.stdout.replace(/\n    (?! )/g, ' '), /2 of 2 hosts leak connections on their port 8080: 7 sockets in CLOSE_WAIT \(the server side kept them after the client's FIN\); oldest [\d.]+ s on app-[ab]/);
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test('live --export: bad URL and wrong database stop before capturing (one line); a stopped server only makes the export wait, and wirestate export sends the rest later', { skip: why ?? false }, async () => {
  const link = new HostLink();
  try {
    await link.startServer();
    const db = path.join(dir, 'waits.db');
    const run = (url: string) =>
      spawnSync(process.execPath, [cliPath, 'live', '-i', link.ifname, '--db', db, '--duration', '1', '--no-owners', '--export', url, 'tcp port 8080'], { encoding: 'utf8' });
    for (const [url, status, re] of [
      ['clickhouse//oops', 2, /^wirestate: clickhouse\/\/oops: not a ClickHouse URL \(cannot parse it\)/],
      [ch.url('no_such_db'), 1, /^wirestate: clickhouse:\/\/127\.0\.0\.1:\d+\/no_such_db: no database no_such_db on the server/],
    ] as const) {
      const r = run(url);
      assert.equal(r.status, status, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(fs.existsSync(db), false, 'no capture was started');
    }

    // A stopped server: capture goes on to SQLite; at stop the export says what is left and how to send it.
    const closed = `clickhouse://127.0.0.1:${await (await import('../helpers/clickhouse-server')).freePort()}/${DB}`;
    const live = spawn(process.execPath, [cliPath, 'live', '-i', link.ifname, '--db', db, '--flush-every', '0.3', '--no-owners', '--export', closed, '--export-wait', '1', '--host-label', 'app-c', 'tcp', 'port', '8080'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    live.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    await waitForLine(live, /capturing on/, 30000);
    const exited = waitForExit(live, 30000);
    link.connect(['leak', 'close']);
    await until('flows in SQLite while the export waits', () => {
      try {
        return sqliteFlows(db).length === 2;
      } catch {
        return false;
      }
    });
    live.kill('SIGINT');
    const end = await exited;
    assert.equal(end.code, 0, end.stderr);
    const lines = stderr.trim().split('\n');
    assert.match(lines[0], /^wirestate: export: clickhouse:\/\/127\.0\.0\.1:\d+\/fleet_live: ClickHouse unreachable \(econnrefused .*\); capturing to SQLite, the export catches up once it answers$/);
    const last = lines[lines.length - 1];
    const m = /^wirestate: export: capture 1 not all sent to (\S+) \(ClickHouse unreachable \(econnrefused [\d.:]+\)\); it is safe in (\S+): send the rest with: wirestate (export .*)$/.exec(last);
    assert.ok(m, stderr);
    for (const l of lines) assert.match(l, /^wirestate: /);
    assert.equal(m[2], db);
    // The command it names, pointed at the running server, sends exactly the SQLite rows.
    const args = m[3].split(' ').map((a) => (a === m[1] ? ch.url(DB) : a));
    const ex = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8' });
    assert.equal(ex.status, 0, ex.stderr);
    assert.deepEqual(await clickhouseFlows(ch, DB, 'app-c'), sqliteFlows(db));
    assert.deepEqual(await clickhouseTransitions(ch, DB, 'app-c'), sqliteTransitions(db));
  } finally {
    link.cleanup();
  }
});
