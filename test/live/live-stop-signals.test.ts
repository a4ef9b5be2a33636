import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cliPath } from '../helpers/paths';
import { waitForExit, waitForLine } from '../host/netns';
import { withLoopbackNetns, captureRows, sleep } from './loopback-netns';

test('live: SIGTERM the moment the capture row exists (socket owners still being read) is a clean stop, never an open row', async (t) => {
  await withLoopbackNetns(t, async (ns, dir) => {
    for (let run = 0; run < 4; run++) {
      const db = path.join(dir, `race${run}.db`);
      const live = ns.spawn(process.execPath, [cliPath, 'live', '-i', 'lo', '--db', db, '--flush-every', '0.2', 'tcp port 9']);
      const exited = waitForExit(live, 20000);
      // Catch the row as soon as it is written: the child is then still starting up.
      const deadline = Date.now() + 15000;
      while ((captureRows(db)?.length ?? 0) === 0) {
        assert.ok(Date.now() < deadline, 'no capture row within 15 s');
        await sleep(1);
      }
      live.kill('SIGTERM');
      const end = await exited;
      assert.equal(end.signal, null, `run ${run}: ${end.stderr}`);
      assert.equal(end.code, 0, `run ${run}: ${end.stderr}`);
      assert.match(end.stdout, /stopped \(signal\)/);
      const rows = captureRows(db);
      assert.equal(rows?.length, 1);
      const row = rows?.[0];
      assert.equal(row?.completed, 1, `run ${run}: capture row closed`);
      assert.equal(row?.damage, null, `run ${run}: an ordinary stop is not damage`);
      assert.equal(row?.truncated, 0);
      assert.notEqual(row?.last_ts, null);
    }
  });
});

/** Pids of the children of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('live: SIGTERM while the capturing child is still loading is held back until it can stop cleanly', async (t) => {
  await withLoopbackNetns(t, async (ns, dir) => {
    for (let run = 0; run < 3; run++) {
      const db = path.join(dir, `early${run}.db`);
      const live = ns.spawn(process.execPath, [cliPath, 'live', '-i', 'lo', '--db', db, '--flush-every', '0.2', 'tcp port 9']);
      const exited = waitForExit(live, 20000);
      const deadline = Date.now() + 15000;
      while (childrenOf(live.pid as number).length === 0) {
        assert.ok(Date.now() < deadline, 'no capturing child within 15 s');
        await sleep(1);
      }
      assert.equal(captureRows(db), null, 'signalled before the child opened the database');
      live.kill('SIGTERM');
      const end = await exited;
      assert.equal(end.signal, null, `run ${run}: ${end.stderr}`);
      assert.equal(end.code, 0, `run ${run}: ${end.stderr}`);
      assert.match(end.stdout, /stopped \(signal\)/);
      const row = captureRows(db)?.[0];
      assert.equal(row?.completed, 1, `run ${run}: capture row closed`);
      assert.equal(row?.damage, null);
    }
  });
});

test('live: SIGHUP to the whole process group (ssh drop, terminal closed) stops cleanly like SIGTERM', async (t) => {
  await withLoopbackNetns(t, async (ns, dir) => {
    const db = path.join(dir, 'hup.db');
    const live = ns.spawn(process.execPath, [cliPath, 'live', '-i', 'lo', '--db', db, '--flush-every', '0.2', 'tcp port 9'], { detached: true });
    await waitForLine(live, /capturing on lo/);
    const exited = waitForExit(live, 20000);
    await sleep(500);
    // As the kernel does when the controlling terminal goes away: the parent and the capturing child both get it.
    process.kill(-(live.pid as number), 'SIGHUP');
    const end = await exited;
    assert.equal(end.signal, null, end.stderr);
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /stopped \(signal\)/);
    const row = captureRows(db)?.[0];
    assert.equal(row?.completed, 1);
    assert.equal(row?.damage, null);
    assert.notEqual(row?.last_ts, null);
  });
});
