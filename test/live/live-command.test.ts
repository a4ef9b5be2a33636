import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { cliPath } from '../helpers/paths';
import { VethPair, liveUnavailable, sh, uniqueTag, waitForExit, waitForLine, waitForSettled, LEAKY_SERVER_PY, CLIENT_PY } from '../host/netns';
import type { FlowsRow } from '../../src/store/flows-row';

/** A /24 inside 10.79.0.0/16 that differs between concurrently running test processes. */
function subnet(): number {
  return 100 + (process.pid % 150);
}

type FlowRow = Pick<FlowsRow, 'id' | 'orig_h' | 'orig_p' | 'resp_h' | 'resp_p' | 'orig_state' | 'resp_state' | 'history' | 'close_kind' | 'finished'>;

function readFlows(db: string): FlowRow[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT id, orig_h, orig_p, resp_h, resp_p, orig_state, resp_state, history, close_kind, finished FROM flows ORDER BY orig_p').all() as FlowRow[];
  } finally {
    d.close();
  }
}

/** `ss -tan state close-wait` in a namespace as "local peer" strings. */
function ssCloseWait(pair: VethPair): string[] {
  const out = pair.server.exec('ss', ['-tanH', 'state', 'close-wait']);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const f = l.trim().split(/\s+/);
      // With a state filter ss omits the State column: Recv-Q Send-Q Local Peer
      return `${f[2]} ${f[3]}`;
    })
    .sort();
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wse-live-'));
}

test('live: CLOSE_WAIT flows in the database are exactly those ss shows, held by the server process; -w reads back the same flows', async (t) => {
  const why = liveUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const dir = tmpdir();
  const pair = new VethPair(`lv${uniqueTag()}`, subnet());
  try {
    const db = path.join(dir, 'live.db');
    const pcap = path.join(dir, 'live.pcap');
    const srv = pair.server.spawn('python3', ['-c', LEAKY_SERVER_PY, pair.serverIp, '8080']);
    const srvPid = Number((await waitForLine(srv, /^listening \d+/)).split(' ')[1]);

    // No -i: the default must be the namespace's only non-loopback interface that is up (the veth).
    const live = pair.server.spawn(process.execPath, [cliPath, 'live', '--db', db, '--duration', '8', '--flush-every', '0.5', '-w', pcap, 'tcp', 'port', '8080']);
    const banner = await waitForLine(live, /capturing on/);
    assert.match(banner, /capturing on wse-s, link-type EN10MB/);
    const exited = waitForExit(live, 20000);

    const cli = pair.client.spawn('python3', ['-c', CLIENT_PY, pair.serverIp, '8080', 'leak', 'close', 'leak', 'close', 'leak']);
    let cliOut = '';
    cli.stdout?.on('data', (b: Buffer) => (cliOut += b.toString()));
    await waitForLine(cli, /^done/);
    const ports = new Map<number, string>();
    for (const m of cliOut.matchAll(/^port (\w+) (\d+)$/gm)) ports.set(Number(m[2]), m[1]);
    assert.equal(ports.size, 5, cliOut);
    // Wait until the server's kernel is done (3 leaked sockets in CLOSE-WAIT, the closed ones gone),
    // then take ground truth while the capture runs.
    await waitForSettled(pair.server, 8080, ['CLOSE-WAIT'], 3);
    const truth = ssCloseWait(pair);
    assert.equal(truth.length, 3, `ss shows 3 CLOSE_WAIT sockets: ${truth.join(', ')}`);

    // While the capture runs, the database gets them at the next flush (WAL: readers do not block the writer).
    const countCw = () => readFlows(db).filter((f) => f.resp_state === 'CLOSE_WAIT' || f.orig_state === 'CLOSE_WAIT').length;
    const deadline = Date.now() + 5000;
    while (countCw() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(countCw(), 3, 'active CLOSE_WAIT flows are written while the capture runs');
    assert.equal(readFlows(db).length, 5);
    const reportDuring = spawnSync(process.execPath, [cliPath, 'report', '--db', db], { encoding: 'utf8' });
    assert.equal(reportDuring.status, 0, reportDuring.stderr);
    assert.match(reportDuring.stdout, new RegExp(`python3 \\(pid\\s+${srvPid}\\)`), 'report names the process holding CLOSE_WAIT');

    const end = await exited;
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /stopped \(duration\)/);

    const d = new Database(db, { readonly: true });
    try {
      const cap = d.prepare('SELECT * FROM captures').all() as Array<Record<string, unknown>>;
      assert.equal(cap.length, 1);
      assert.equal(cap[0].kind, 'live');
      assert.equal(cap[0].completed, 1, 'capture row closed');
      assert.equal(cap[0].linktypes, '1');
      assert.ok((cap[0].packets as number) >= 5 * 7 && cap[0].packets === cap[0].tcp_packets, `packets ${cap[0].packets}`);
      assert.equal(cap[0].flows, 5);

      const cw = d.prepare('SELECT flow_id, stuck_side, stuck_h, stuck_p, peer_h, peer_p FROM close_wait').all() as Array<{
        flow_id: number; stuck_side: string; stuck_h: string; stuck_p: number; peer_h: string; peer_p: number;
      }>;
      assert.deepEqual(cw.map((r) => `${r.stuck_h}:${r.stuck_p} ${r.peer_h}:${r.peer_p}`).sort(), truth);
      for (const r of cw) {
        assert.equal(r.stuck_side, 'resp');
        assert.equal(ports.get(r.peer_p), 'leak', `client port ${r.peer_p} of ${JSON.stringify([...ports])}`);
        const owners = d.prepare('SELECT endpoint, pid, command FROM socket_owners WHERE flow_id = ?').all(r.flow_id);
        assert.deepEqual(owners, [{ endpoint: 'resp', pid: srvPid, command: 'python3' }], `owner of ${r.peer_p}`);
      }
      const flows = readFlows(db);
      assert.equal(flows.length, 5);
      for (const f of flows) {
        assert.equal(f.orig_h, pair.clientIp);
        assert.equal(f.resp_h, pair.serverIp);
        if (ports.get(f.orig_p) === 'close') {
          assert.equal(f.resp_state, 'CLOSED', `closed flow ${f.orig_p}`);
          assert.equal(f.orig_state, 'TIME_WAIT');
          assert.equal(f.close_kind, 'normal');
        } else {
          assert.equal(ports.get(f.orig_p), 'leak');
          assert.equal(f.orig_state, 'FIN_WAIT_2');
          assert.equal(f.close_kind, 'close_wait');
        }
      }
    } finally {
      d.close();
    }

    // -w: the pcap reads back with tcpdump and, through ingest, gives the same flows.
    const td = spawnSync('tcpdump', ['-nn', '-r', pcap], { encoding: 'utf8' });
    if (!td.error) {
      assert.equal(td.status, 0, td.stderr);
      const n = (new Database(db, { readonly: true }).prepare('SELECT packets FROM captures').get() as { packets: number }).packets;
      assert.equal(td.stdout.split('\n').filter((l) => l !== '').length, n);
    }
    const db2 = path.join(dir, 'ingested.db');
    const ing = spawnSync(process.execPath, [cliPath, 'ingest', '--quiet', '--db', db2, pcap], { encoding: 'utf8' });
    assert.equal(ing.status, 0, ing.stderr);
    const key = (f: FlowRow) => `${f.orig_h}:${f.orig_p} ${f.resp_h}:${f.resp_p} ${f.orig_state} ${f.resp_state} ${f.history} ${f.close_kind}`;
    assert.deepEqual(readFlows(db2).map(key), readFlows(db).map(key));
  } finally {
    pair.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) test(`live: ${signal} mid-capture stops cleanly with a consistent database`, async (t) => {
  const why = liveUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const dir = tmpdir();
  const pair = new VethPair(`li${uniqueTag()}`, subnet());
  try {
    const db = path.join(dir, 'sigint.db');
    const srv = pair.server.spawn('python3', ['-c', LEAKY_SERVER_PY, pair.serverIp, '8081']);
    await waitForLine(srv, /^listening/);
    const live = pair.server.spawn(process.execPath, [cliPath, 'live', '-i', 'wse-s', '--db', db, '--flush-every', '0.3', 'tcp port 8081']);
    await waitForLine(live, /capturing on wse-s/);
    const exited = waitForExit(live, 15000);
    const cli = pair.client.spawn('python3', ['-c', CLIENT_PY, pair.serverIp, '8081', 'leak', 'close', 'leak']);
    await waitForLine(cli, /^done/);
    await waitForSettled(pair.server, 8081, ['CLOSE-WAIT'], 2);
    // Wait until a flush has written the flows, then interrupt.
    const deadline = Date.now() + 5000;
    while (readFlows(db).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const open = new Database(db, { readonly: true });
    assert.equal((open.prepare('SELECT completed FROM captures').get() as { completed: number }).completed, 0, 'capture still open while running');
    open.close();
    live.kill(signal);
    const end = await exited;
    assert.equal(end.code, 0, end.stderr);
    assert.equal(end.signal, null);
    assert.match(end.stdout, /stopped \(signal\)/);

    const d = new Database(db, { readonly: true });
    try {
      assert.equal((d.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
      const cap = d.prepare('SELECT completed, packets, tcp_packets, flows, last_ts, first_ts FROM captures').get() as Record<string, number>;
      assert.equal(cap.completed, 1);
      assert.equal(cap.flows, 3);
      assert.ok(cap.last_ts >= cap.first_ts);
      assert.ok(cap.packets >= 3 * 7);
      const kinds = (d.prepare('SELECT close_kind FROM flows ORDER BY close_kind').all() as Array<{ close_kind: string }>).map((r) => r.close_kind);
      assert.deepEqual(kinds, ['close_wait', 'close_wait', 'normal']);
      const orphans = d.prepare('SELECT count(*) AS n FROM transitions WHERE flow_id NOT IN (SELECT id FROM flows)').get() as { n: number };
      assert.equal(orphans.n, 0);
    } finally {
      d.close();
    }
  } finally {
    pair.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live: errors are one line — invalid filter (libpcap message), unknown interface (lists real ones), no permission', async (t) => {
  const why = liveUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const dir = tmpdir();
  const pair = new VethPair(`le${uniqueTag()}`, subnet());
  try {
    const db = path.join(dir, 'err.db');
    const run = (args: string[], prefix: string[] = []) => {
      const r = spawnSync('ip', ['netns', 'exec', pair.server.name, ...prefix, process.execPath, cliPath, 'live', '--db', db, ...args], { encoding: 'utf8', timeout: 15000 });
      return { code: r.status, stderr: r.stderr.trim(), stdout: r.stdout };
    };
    const bad = run(['-i', 'wse-s', 'tcp', 'port']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /^wirestate: invalid capture filter 'tcp port': .*syntax error/);

    const unknown = run(['-i', 'wse-nope', '--duration', '1']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.split('\n').length, 1, unknown.stderr);
    assert.match(unknown.stderr, /no such interface 'wse-nope'; interfaces: .*wse-s/);
    assert.match(unknown.stderr, /\blo\b/);

    if (!spawnSync('setpriv', ['--version']).error) {
      // Root without any capability (bounding set emptied): what an unprivileged user gets.
      const noperm = run(['-i', 'wse-s', '--duration', '1'], ['setpriv', '--inh-caps=-all', '--bounding-set=-all']);
      assert.equal(noperm.code, 1);
      assert.equal(noperm.stderr.split('\n').length, 1, noperm.stderr);
      assert.match(noperm.stderr, /no permission to capture on wse-s .*root or grant CAP_NET_RAW.*setcap cap_net_raw,cap_net_admin=eip/);
    } else {
      t.diagnostic('setpriv missing: permission error not checked');
    }
    assert.equal(fs.existsSync(db), false, 'a capture that never started leaves no database behind');
  } finally {
    pair.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live on a terminal: a one-line status refreshed every second with packets, flows, CLOSE_WAIT now, drops', async (t) => {
  const why = liveUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  if (spawnSync('script', ['--version']).error) {
    t.skip('needs script(1) from util-linux to give the CLI a terminal');
    return;
  }
  const dir = tmpdir();
  const pair = new VethPair(`lt${uniqueTag()}`, subnet());
  try {
    const db = path.join(dir, 'tty.db');
    const srv = pair.server.spawn('python3', ['-c', LEAKY_SERVER_PY, pair.serverIp, '8082']);
    await waitForLine(srv, /^listening/);
    const inner = `ip netns exec ${pair.server.name} ${process.execPath} ${cliPath} live -i wse-s --db ${db} --duration 4 --flush-every 0.5 tcp port 8082`;
    const { spawn } = await import('node:child_process');
    const term = spawn('script', ['-qfec', inner, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = waitForExit(term, 20000);
    await waitForLine(term, /capturing on wse-s/);
    const cli = pair.client.spawn('python3', ['-c', CLIENT_PY, pair.serverIp, '8082', 'leak', 'leak', 'close']);
    await waitForLine(cli, /^done/);
    const end = await exited;
    assert.equal(end.code, 0, end.stdout + end.stderr);
    const statuses = end.stdout.split('\r\x1b[K').map((s) => s.trim()).filter((s) => /packets \d+/.test(s) && !/stopped/.test(s));
    assert.ok(statuses.length >= 2, `status refreshed while running: ${JSON.stringify(end.stdout)}`);
    for (const s of statuses) assert.match(s, /^\d+s {2}packets \d+ \(tcp \d+\) {2}active flows \d+ {2}CLOSE_WAIT now \d+ {2}(drops \d+|loss~(n\/a|\d+\.\d+%))$/);
    assert.ok(statuses.some((s) => /CLOSE_WAIT now 2 /.test(s)), `CLOSE_WAIT now 2 shown: ${statuses.join(' | ')}`);
  } finally {
    pair.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('interfaces in a namespace: the veth is up and the default, lo is loopback; live --count stops after N packets', async (t) => {
  const why = liveUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const dir = tmpdir();
  const pair = new VethPair(`lc${uniqueTag()}`, subnet());
  try {
    const text = pair.server.exec(process.execPath, [cliPath, 'interfaces']);
    const lines = text.split('\n');
    const veth = lines.find((l) => /^\* wse-s\s/.test(l));
    assert.ok(veth, text);
    assert.match(veth, /\sup\s+10\.79\.\d+\.1\/24/);
    assert.match(lines.find((l) => /^ {2}lo\s/.test(l)) ?? '', /up,loopback\s+127\.0\.0\.1\/8/);
    const json = JSON.parse(pair.server.exec(process.execPath, [cliPath, 'interfaces', '--json'])) as Array<{ name: string; isDefault: boolean }>;
    assert.deepEqual(json.filter((d) => d.isDefault).map((d) => d.name), ['wse-s']);

    const db = path.join(dir, 'count.db');
    const pcap = path.join(dir, 'count.pcap');
    const srv = pair.server.spawn('python3', ['-c', LEAKY_SERVER_PY, pair.serverIp, '8083']);
    await waitForLine(srv, /^listening/);
    const live = pair.server.spawn(process.execPath, [cliPath, 'live', '--db', db, '--count', '5', '-w', pcap, 'tcp port 8083']);
    await waitForLine(live, /capturing on wse-s/);
    const exited = waitForExit(live, 15000);
    pair.client.spawn('python3', ['-c', CLIENT_PY, pair.serverIp, '8083', 'close', 'close']);
    const end = await exited;
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /stopped \(count\).*: 5 packets/);
    const d = new Database(db, { readonly: true });
    const cap = d.prepare('SELECT packets, completed FROM captures').get() as { packets: number; completed: number };
    d.close();
    assert.deepEqual(cap, { packets: 5, completed: 1 });
    let n = 0;
    const { readCapture } = await import('../../src/source/read-capture');
    await readCapture(pcap, () => n++);
    assert.equal(n, 5);
  } finally {
    pair.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live: the interface going down mid-capture (cap aborts) still leaves the capture row closed, as damaged, with the flows', async (t) => {
  const why = liveUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const dir = tmpdir();
  const pair = new VethPair(`ld${uniqueTag()}`, subnet());
  try {
    const db = path.join(dir, 'down.db');
    const srv = pair.server.spawn('python3', ['-c', LEAKY_SERVER_PY, pair.serverIp, '8084']);
    await waitForLine(srv, /^listening/);
    const live = pair.server.spawn(process.execPath, [cliPath, 'live', '-i', 'wse-s', '--db', db, '--flush-every', '0.3', 'tcp port 8084']);
    await waitForLine(live, /capturing on wse-s/);
    const exited = waitForExit(live, 15000);
    const cli = pair.client.spawn('python3', ['-c', CLIENT_PY, pair.serverIp, '8084', 'leak', 'leak']);
    await waitForLine(cli, /^done/);
    await waitForSettled(pair.server, 8084, ['CLOSE-WAIT'], 2);
    const deadline = Date.now() + 5000;
    while (readFlows(db).filter((f) => f.resp_state === 'CLOSE_WAIT').length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    sh('ip', ['-n', pair.server.name, 'link', 'set', 'wse-s', 'down']);
    const end = await exited;
    assert.equal(end.code, 1, end.stderr);
    const last = end.stderr.trim().split('\n').pop() ?? '';
    assert.match(last, /^wirestate: live capture on wse-s ended abnormally \(SIGABRT\).*interface down or removed.*capture 1 closed as damaged/);
    const d = new Database(db, { readonly: true });
    try {
      const cap = d.prepare('SELECT completed, truncated, damage, packets FROM captures').get() as Record<string, unknown>;
      assert.equal(cap.completed, 1);
      assert.equal(cap.truncated, 1);
      assert.match(String(cap.damage), /ended abnormally/);
      assert.ok((cap.packets as number) >= 2 * 7);
      assert.equal((d.prepare("SELECT count(*) AS n FROM flows WHERE resp_state = 'CLOSE_WAIT'").get() as { n: number }).n, 2);
    } finally {
      d.close();
    }
  } finally {
    pair.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
