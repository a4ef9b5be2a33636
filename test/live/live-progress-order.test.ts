import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { waitForExit, waitForLine, LEAKY_SERVER_PY, CLIENT_PY } from '../host/netns';
import { withLoopbackNetns, captureRows } from './loopback-netns';

const livePipelineModule = path.resolve(__dirname, '..', '..', 'src', 'pipeline', 'live-pipeline.js');

/**
 * The real LivePipeline on lo, killed (SIGKILL, as the OOM killer would) at
 * the first progress report after the engine saw both endpoints go into
 * CLOSE_WAIT: what a supervisor finds in the database then must already hold
 * those states.
 */
const PIPELINE_JS = `
const { LivePipeline } = require(${JSON.stringify(livePipelineModule)});
const [db, filter] = process.argv.slice(1);
let p = null;
p = LivePipeline.start({ device: 'lo', filter, snaplen: 65535, dbPath: db, flushEveryMs: 100, count: 0, durationMs: 0, resolveOwners: false,
  onProgress: (r) => {
    if (p !== null && p.status().closeWaitEndpoints >= 2) {
      console.log('killed at ' + r.flushedTsUs);
      process.kill(process.pid, 'SIGKILL');
    }
  } });
console.log('capturing ' + p.captureId);
`;

test('live: a progress report (and captures.last_ts) comes only after the flows of that flush are written', async (t) => {
  await withLoopbackNetns(t, async (ns, dir) => {
    const db = path.join(dir, 'order.db');
    const port = 7431;
    const srv = ns.spawn('python3', ['-c', LEAKY_SERVER_PY, '127.0.0.1', String(port)]);
    await waitForLine(srv, /^listening/);
    const live = ns.spawn(process.execPath, ['-e', PIPELINE_JS, db, `tcp port ${port}`]);
    await waitForLine(live, /^capturing \d+/);
    const exited = waitForExit(live, 20000);
    const cli = ns.spawn('python3', ['-c', CLIENT_PY, '127.0.0.1', String(port), 'leak', 'leak']);
    await waitForLine(cli, /^done/);
    const end = await exited;
    assert.equal(end.signal, 'SIGKILL', end.stderr);
    const killedAt = Number(/killed at (\d+)/.exec(end.stdout)?.[1]);
    assert.ok(killedAt > 0, end.stdout);

    const row = captureRows(db)?.[0];
    assert.equal(row?.completed, 0, 'the process died: the row is still open (a supervisor would close it)');
    assert.ok(Math.abs((row?.last_ts as number) - killedAt / 1e6) < 0.5, `last_ts ${row?.last_ts} is the reported progress time ${killedAt / 1e6}`);
    const d = new Database(db, { readonly: true });
    try {
      const states = d.prepare('SELECT resp_state FROM flows ORDER BY id').all() as Array<{ resp_state: string }>;
      assert.deepEqual(
        states.map((s) => s.resp_state),
        ['CLOSE_WAIT', 'CLOSE_WAIT'],
        'the CLOSE_WAIT states the progress report counted are in the database',
      );
    } finally {
      d.close();
    }
    assert.deepEqual(ns.ss(port).sort(), ['CLOSE-WAIT', 'CLOSE-WAIT', 'FIN-WAIT-2', 'FIN-WAIT-2']);
  });
});
