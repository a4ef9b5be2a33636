import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cliPath } from '../helpers/paths';
import { waitForExit, waitForLine } from '../host/netns';
import { withLoopbackNetns, captureRows, sleep } from './loopback-netns';

test('live: the database locked by another writer past the busy timeout ends the capture with its row closed as damaged', async (t) => {
  await withLoopbackNetns(t, async (ns, dir) => {
    const db = path.join(dir, 'busy.db');
    const live = ns.spawn(process.execPath, [cliPath, 'live', '-i', 'lo', '--db', db, '--flush-every', '0.1', 'tcp port 9']);
    await waitForLine(live, /capturing on lo/);
    const exited = waitForExit(live, 30000);
    await sleep(300);
    // Another writer (as a long ingest would) holds the write lock longer than the 5 s busy timeout.
    const other = new Database(db);
    other.exec('BEGIN IMMEDIATE');
    await sleep(7000);
    other.exec('COMMIT');
    other.close();
    const end = await exited;
    assert.equal(end.signal, null, end.stderr);
    assert.equal(end.code, 1, end.stderr);
    const errors = end.stderr.trim().split('\n').filter((l) => l.startsWith('wirestate: '));
    assert.equal(errors.length, 1, `one error line: ${end.stderr}`);
    assert.match(errors[0], /^wirestate: .*database is locked.*capture 1 closed as damaged/);
    const rows = captureRows(db);
    assert.equal(rows?.length, 1);
    const row = rows?.[0];
    assert.equal(row?.completed, 1, 'capture row closed');
    assert.equal(row?.truncated, 1);
    assert.match(String(row?.damage), /database is locked/);
    assert.notEqual(row?.last_ts, null);
  });
});
