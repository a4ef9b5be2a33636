import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { waitForExit, waitForLine, LEAKY_SERVER_PY, CLIENT_PY } from '../host/netns';
import { withLoopbackNetns } from './loopback-netns';

const livePipelineModule = path.resolve(__dirname, '..', '..', 'src', 'pipeline', 'live-pipeline.js');

/**
 * Runs inside the namespace: the real LivePipeline on lo with a short 2MSL
 * (so a TIME_WAIT ends within the test) and fast flushes, until stdin closes.
 */
const PIPELINE_JS = `
const { LivePipeline } = require(${JSON.stringify(livePipelineModule)});
const [db, filter] = process.argv.slice(1);
const p = LivePipeline.start({ device: 'lo', filter, snaplen: 65535, dbPath: db, flushEveryMs: 200, count: 0, durationMs: 0, timeWaitUs: 1000000 });
console.log('capturing ' + p.captureId);
process.stdin.on('end', () => p.stop('requested'));
process.stdin.resume();
p.done.then((s) => console.log('summary ' + JSON.stringify({ reason: s.reason, packets: s.packets, closeWait: s.closeWaitEndpoints, longestFlushMs: s.longestFlushMs })),
  (e) => { console.error('failed ' + e.message); process.exitCode = 1; });
`;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StuckRow {
  flow_id: number;
  stuck_p: number;
  since_ts: number;
  stuck_s: number;
}

test('live, silent wire: stuck_s of CLOSE_WAIT flows grows between two reads, and a TIME_WAIT flow is finished without a further packet', async (t) => {
  await withLoopbackNetns(t, async (ns, dir) => {
    const db = path.join(dir, 'progress.db');
    const port = 7411;
    const srv = ns.spawn('python3', ['-c', LEAKY_SERVER_PY, '127.0.0.1', String(port)]);
    const srvPid = Number((await waitForLine(srv, /^listening \d+/)).split(' ')[1]);
    const live = ns.spawn(process.execPath, ['-e', PIPELINE_JS, db, `tcp port ${port}`]);
    await waitForLine(live, /^capturing \d+/);
    const exited = waitForExit(live, 20000);

    const cli = ns.spawn('python3', ['-c', CLIENT_PY, '127.0.0.1', String(port), 'leak', 'close', 'leak']);
    let cliOut = '';
    cli.stdout?.on('data', (b: Buffer) => (cliOut += b.toString()));
    await waitForLine(cli, /^done/);
    const closePort = Number(/^port close (\d+)$/m.exec(cliOut)?.[1]);
    // Kernel done: the server holds 2 CLOSE-WAIT sockets (client FIN-WAIT-2), the closed connection's client is in TIME-WAIT.
    const settleBy = Date.now() + 10000;
    for (;;) {
      const st = ns.ss(port).sort();
      if (st.join(' ') === 'CLOSE-WAIT CLOSE-WAIT FIN-WAIT-2 FIN-WAIT-2 TIME-WAIT') break;
      assert.ok(Date.now() < settleBy, `sockets did not settle: ${st.join(' ')}`);
      await sleep(50);
    }
    const silentFrom = Date.now();

    const reader = new Database(db, { readonly: true });
    try {
      const stuckRows = () => reader.prepare('SELECT flow_id, stuck_p, since_ts, stuck_s FROM close_wait ORDER BY flow_id').all() as StuckRow[];
      const capRow = () => reader.prepare('SELECT completed, packets, last_ts FROM captures').get() as { completed: number; packets: number; last_ts: number | null };
      const waitBy = Date.now() + 5000;
      while (stuckRows().length < 2 && Date.now() < waitBy) await sleep(100);

      // First read: both stuck connections are in, held by the server; note the wall clock.
      const r1 = stuckRows();
      const c1 = capRow();
      const w1 = Date.now() / 1000;
      assert.equal(r1.length, 2, 'both CLOSE_WAIT flows written while the capture runs');
      assert.deepEqual(r1.map((r) => r.stuck_p), [port, port]);
      assert.equal(c1.completed, 0, 'capture still running');
      assert.ok(c1.packets >= 3 * 7, `packet count kept current at the flushes: ${c1.packets}`);
      for (const r of r1) {
        const owners = reader.prepare("SELECT pid, command FROM socket_owners WHERE flow_id = ? AND endpoint = 'resp'").all(r.flow_id);
        assert.deepEqual(owners, [{ pid: srvPid, command: 'python3' }]);
      }

      await sleep(1500);
      // Second read: nothing crossed the wire, yet the stuck time grew with the clock.
      const r2 = stuckRows();
      const c2 = capRow();
      const w2 = Date.now() / 1000;
      assert.equal(c2.packets, c1.packets, 'the wire stayed silent between the reads');
      assert.equal(c2.completed, 0);
      assert.ok((c2.last_ts as number) > (c1.last_ts as number), 'the capture end moved without packets');
      assert.deepEqual(r2.map((r) => [r.flow_id, r.since_ts]), r1.map((r) => [r.flow_id, r.since_ts]), 'same flows, same since');
      for (let i = 0; i < r2.length; i++) {
        const grew = r2[i].stuck_s - r1[i].stuck_s;
        // Flushes every 200 ms: the growth matches the wall-clock time between the reads within a few flushes.
        assert.ok(Math.abs(grew - (w2 - w1)) < 0.7, `stuck_s grew ${grew.toFixed(3)} s in ${(w2 - w1).toFixed(3)} s`);
        assert.ok(Math.abs(r2[i].stuck_s - (w2 - r2[i].since_ts)) < 0.7, `stuck_s ${r2[i].stuck_s} vs now - since ${w2 - r2[i].since_ts}`);
      }

      // The TIME_WAIT flow (2MSL = 1 s here, plus the engine's 2 s closed linger) is finished and written with no packet after it.
      const tw = () =>
        reader.prepare('SELECT finished, orig_state, resp_state, close_kind FROM flows WHERE orig_p = ?').get(closePort) as
          | { finished: number; orig_state: string; resp_state: string; close_kind: string }
          | undefined;
      const twBy = silentFrom + 8000;
      while (tw()?.finished !== 1 && Date.now() < twBy) await sleep(100);
      assert.deepEqual(tw(), { finished: 1, orig_state: 'CLOSED', resp_state: 'CLOSED', close_kind: 'normal' });
      assert.equal(capRow().packets, c1.packets, 'no packet was needed to finish it');
      assert.equal(capRow().completed, 0, 'finished while the capture was still running');
    } finally {
      reader.close();
    }

    live.stdin?.end();
    const end = await exited;
    assert.equal(end.code, 0, end.stderr);
    const summary = JSON.parse(/^summary (.*)$/m.exec(end.stdout)?.[1] ?? 'null') as { reason: string; closeWait: number } | null;
    assert.ok(summary, end.stdout);
    assert.equal(summary.reason, 'requested');
    assert.equal(summary.closeWait, 2);
    const d = new Database(db, { readonly: true });
    try {
      const cap = d.prepare('SELECT completed, flows FROM captures').get();
      assert.deepEqual(cap, { completed: 1, flows: 3 });
      const kinds = (d.prepare('SELECT close_kind FROM flows ORDER BY close_kind').all() as Array<{ close_kind: string }>).map((r) => r.close_kind);
      assert.deepEqual(kinds, ['close_wait', 'close_wait', 'normal']);
    } finally {
      d.close();
    }
  });
});
