import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cliPath, fixture } from '../helpers/paths';
import { runCli, tmpDir, truth } from './run-cli';
import { readPcap, replicatePcap, slicePcap } from './pcap-edit';

function q<T = Record<string, unknown>>(db: string, sql: string): T[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all() as T[];
  } finally {
    d.close();
  }
}
function n(db: string, sql: string): number {
  return Object.values(q(db, sql)[0])[0] as number;
}

/** Flow states keyed by the client port, to compare two ingests of the same traffic. */
function flowStates(db: string): string[] {
  return q<{ s: string }>(
    db,
    `SELECT orig_p || ' ' || orig_state || ' ' || resp_state || ' ' || close_kind || ' ' || history || ' ' || orig_pkts || ' ' || resp_pkts AS s FROM flows ORDER BY orig_p`,
  ).map((r) => r.s);
}

test('re-ingesting the same file adds nothing and says so', () => {
  const db = path.join(tmpDir(), 'w.db');
  const file = fixture('nginx-keepalive-closewait.pcap');
  assert.equal(runCli(['ingest', file, '--db', db]).code, 0);
  const flows = n(db, 'SELECT count(*) FROM flows');
  assert.ok(flows > 0);
  // Same content under another name counts as the same file.
  const copy = path.join(tmpDir(), 'renamed.pcap');
  fs.copyFileSync(file, copy);
  for (const f of [file, copy]) {
    const r = runCli(['ingest', f, '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    // One line: the earlier path only when it differs (not "x.pcap: ... capture 1 (x.pcap)"), and the command that shows it.
    const earlier = f === file ? '' : ` (${file})`;
    assert.equal(r.stderr, `wirestate: ${f}: already ingested as capture 1${earlier}; nothing added (see it: wirestate report --capture 1 --db ${db})\n`);
  }
  assert.equal(n(db, 'SELECT count(*) FROM captures'), 1);
  assert.equal(n(db, 'SELECT count(*) FROM flows'), flows);
  // --quiet silences the notice too.
  assert.equal(runCli(['ingest', file, '--db', db, '--quiet']).stderr, '');
});

test('rotated files are one continuous capture: a split fixture gives the same flows as the whole', () => {
  const name = 'nginx-stale-reuse-reset';
  const p = readPcap(fixture(`${name}.pcap`));
  const dir = tmpDir();
  const mid = Math.floor(p.records.length / 2);
  // Named so that command-line order is the wrong time order.
  fs.writeFileSync(path.join(dir, 'a-second.pcap'), slicePcap(p, mid, p.records.length));
  fs.writeFileSync(path.join(dir, 'b-first.pcap'), slicePcap(p, 0, mid));

  const whole = path.join(dir, 'whole.db');
  assert.equal(runCli(['ingest', fixture(`${name}.pcap`), '--db', whole, '--quiet']).code, 0);
  const split = path.join(dir, 'split.db');
  const r = runCli(['ingest', path.join(dir, 'a-second.pcap'), path.join(dir, 'b-first.pcap'), '--db', split]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ingested capture 1 .*: 2 files/);
  assert.deepEqual(flowStates(split), flowStates(whole));
  assert.equal(n(split, 'SELECT count(*) FROM captures'), 1);
  assert.deepEqual(
    q(split, 'SELECT seq, path FROM capture_files ORDER BY seq').map((x) => path.basename(x.path as string)),
    ['b-first.pcap', 'a-second.pcap'],
  );
  const c = q(split, 'SELECT packets FROM captures')[0];
  assert.equal(c.packets, truth(name).capture.packets);
  // Each half on its own is already in the database now.
  const again = runCli(['ingest', path.join(dir, 'b-first.pcap'), '--db', split]);
  assert.match(again.stderr, /already ingested/);
});

test('a capture cut short mid-record (tcpdump killed): flows before it kept, warning names file and offset, exit 0', () => {
  const p = readPcap(fixture('nginx-keepalive-closewait.pcap'));
  const dir = tmpDir();
  const cutAt = p.records[p.records.length - 5].off + 20; // inside the 5th-last record
  const file = path.join(dir, 'cut.pcap');
  fs.writeFileSync(file, p.buf.subarray(0, cutAt));
  const db = path.join(dir, 'w.db');
  const r = runCli(['ingest', file, '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  const warn = r.stderr.split('\n').filter((l) => l.startsWith('wirestate: warning:'));
  assert.equal(warn.length, 1, r.stderr);
  assert.ok(warn[0].includes(file) && warn[0].includes(`byte ${p.records[p.records.length - 5].off}`), warn[0]);
  const cap = q(db, 'SELECT truncated, damage, packets FROM captures')[0];
  assert.equal(cap.truncated, 1);
  assert.equal(cap.packets, p.records.length - 5);
  assert.match(cap.damage as string, /cut\.pcap/);
  assert.ok(n(db, 'SELECT count(*) FROM flows') >= 18);
  assert.equal(n(db, 'SELECT truncated FROM capture_files'), 1);
});

test('a capture whose framing breaks mid-file: flows before the break kept, one-line error, non-zero exit', () => {
  const p = readPcap(fixture('nginx-keepalive-closewait.pcap'));
  const dir = tmpDir();
  const buf = Buffer.from(p.buf);
  const bad = p.records[Math.floor(p.records.length / 2)];
  buf.writeUInt32LE(0x7fffffff, bad.off + 8); // absurd caplen
  const file = path.join(dir, 'broken.pcap');
  fs.writeFileSync(file, buf);
  const db = path.join(dir, 'w.db');
  const r = runCli(['ingest', file, '--db', db]);
  assert.equal(r.code, 1, r.stderr);
  const errs = r.stderr.split('\n').filter((l) => l.startsWith('wirestate:'));
  assert.equal(errs.length, 1, r.stderr);
  assert.ok(errs[0].includes(file) && errs[0].includes(`byte ${bad.off}`), errs[0]);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const cap = q(db, 'SELECT truncated, packets FROM captures')[0];
  assert.equal(cap.truncated, 1);
  assert.equal(cap.packets, Math.floor(p.records.length / 2));
  assert.ok(n(db, 'SELECT count(*) FROM flows') > 0);
});

test('unusable input: one line naming the file, exit 1, no capture row', () => {
  const dir = tmpDir();
  const text = path.join(dir, 'notes.txt');
  fs.writeFileSync(text, 'this is not a capture\n');
  const db = path.join(dir, 'w.db');
  const r = runCli(['ingest', text, '--db', db]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^wirestate: .*notes\.txt: not a pcap or pcapng file .* at byte 0/);
  assert.equal(n(db, 'SELECT count(*) FROM captures'), 0);
  const missing = runCli(['ingest', path.join(dir, 'gone.pcap'), '--db', db]);
  assert.equal(missing.code, 1);
  // No "at byte 0" for a file that could not even be opened: nothing in it is damaged.
  assert.equal(missing.stderr, `wirestate: ${path.join(dir, 'gone.pcap')}: no such file\n`);
  const isDir = runCli(['ingest', dir, '--db', db]);
  assert.equal(isDir.code, 1);
  assert.match(isDir.stderr, /^wirestate: .*: is a directory[^\n]*\n$/);
  assert.doesNotMatch(isDir.stderr, /at byte/);
  for (const bad of [path.join(dir, 'gone.pcap'), dir]) {
    const st = runCli(['stats', bad]);
    assert.equal(st.code, 1);
    assert.equal(st.stderr.split('\n').length, 2, st.stderr);
    assert.doesNotMatch(st.stderr, /at byte 0/, st.stderr);
  }
});

test('standard input is ingested, and is idempotent too', () => {
  const db = path.join(tmpDir(), 'w.db');
  const data = fs.readFileSync(fixture('server-never-closes.pcap'));
  const r = runCli(['ingest', '-', '--db', db], { input: data });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(n(db, `SELECT count(*) FROM close_wait`), truth('server-never-closes').flows.filter((f) => f.serverState === 'CLOSE_WAIT').length);
  const again = runCli(['ingest', '-', '--db', db], { input: data });
  assert.match(again.stderr, /already ingested/);
  const file = runCli(['ingest', fixture('server-never-closes.pcap'), '--db', db]);
  assert.match(file.stderr, /already ingested as capture 1/);
  assert.equal(n(db, 'SELECT count(*) FROM captures'), 1);
});

function bigCapture(dir: string): string {
  // 10000 back-to-back replicas of a real capture (~70 MB, 420k packets, 30k
  // flows), each renumbered and shifted in time: an ingest long enough to be
  // stopped after its first progress line.
  const file = path.join(dir, 'big.pcap');
  replicatePcap(readPcap(fixture('client-closes-first.pcap')), 80, 10000, 120, file);
  return file;
}

for (const signal of ['SIGKILL', 'SIGINT'] as const) {
  test(`an ingest stopped by ${signal} mid-way leaves the database exactly as it was`, async () => {
    const dir = tmpDir();
    const db = path.join(dir, 'w.db');
    assert.equal(runCli(['ingest', fixture('server-closes-first.pcap'), '--db', db, '--quiet']).code, 0);
    const before = q(db, 'SELECT (SELECT count(*) FROM captures) c, (SELECT count(*) FROM flows) f, (SELECT count(*) FROM transitions) t, (SELECT count(*) FROM capture_files) cf');
    const big = bigCapture(dir);
    const child = spawn(process.execPath, [cliPath, 'ingest', big, '--db', db, '--progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((res) => child.on('exit', (code, sig) => res({ code, sig })));
    await new Promise<void>((res) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // First progress line: packets are flowing into the open transaction.
        if (/ingest big\.pcap \d+% .* [1-9][\d,]* packets/.test(stderr)) res();
      });
      child.on('exit', () => res());
    });
    child.kill(signal);
    const { code, sig } = await exited;
    assert.doesNotMatch(stderr, /ingested capture/, `the ingest finished before it could be stopped: ${stderr}`);
    if (signal === 'SIGKILL') assert.equal(sig, 'SIGKILL');
    else {
      assert.equal(code, 130, stderr);
      assert.match(stderr, /interrupted; ingest rolled back, .* is unchanged/);
    }
    const after = q(db, 'SELECT (SELECT count(*) FROM captures) c, (SELECT count(*) FROM flows) f, (SELECT count(*) FROM transitions) t, (SELECT count(*) FROM capture_files) cf');
    assert.deepEqual(after, before);
    assert.deepEqual(q(db, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

test('a database another process is writing to: one-line "busy" error, exit 1, nothing added (either writer thread)', () => {
  const dir = tmpDir();
  const db = path.join(dir, 'locked.db');
  assert.equal(runCli(['ingest', fixture('client-closes-first.pcap'), '--db', db, '--quiet']).code, 0);
  const holder = new Database(db);
  holder.pragma('busy_timeout = 0');
  const saved = process.env.WIRESTATE_WRITER;
  try {
    holder.exec('BEGIN IMMEDIATE'); // held for longer than the CLI's 5 s busy timeout
    for (const writer of ['worker', 'inline']) {
      process.env.WIRESTATE_WRITER = writer;
      const r = runCli(['ingest', fixture('nginx-keepalive-closewait.pcap'), '--db', db]);
      assert.equal(r.code, 1, `${writer}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^wirestate: .*locked\.db: database is busy .*nothing was added/);
    }
  } finally {
    if (saved === undefined) delete process.env.WIRESTATE_WRITER;
    else process.env.WIRESTATE_WRITER = saved;
    holder.exec('ROLLBACK');
    holder.close();
  }
  assert.equal(n(db, 'SELECT count(*) FROM captures'), 1);
  assert.equal(n(db, 'SELECT count(*) FROM capture_files'), 1);
});

test('a database that stays locked stops the ingest after the busy timeout, also while standard input is still open', async () => {
  const dir = tmpDir();
  const db = path.join(dir, 'locked.db');
  assert.equal(runCli(['ingest', fixture('client-closes-first.pcap'), '--db', db, '--quiet']).code, 0);
  const holder = new Database(db);
  holder.exec('BEGIN IMMEDIATE');
  try {
    for (const writer of ['worker', 'inline']) {
      // A pipe that delivers a capture's start and then nothing, like tcpdump -w - on a quiet interface.
      const child = spawn(process.execPath, [cliPath, 'ingest', '-', '--db', db], {
        env: { ...process.env, WIRESTATE_WRITER: writer, WIRESTATE_DEBUG: '' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin.write(fs.readFileSync(fixture('nginx-keepalive-closewait.pcap')).subarray(0, 4000));
      const started = Date.now();
      const code = await new Promise<number | null>((resolve) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 20_000);
        child.on('exit', (c) => {
          clearTimeout(t);
          resolve(c);
        });
      });
      child.stdin.destroy();
      assert.equal(code, 1, `${writer}: exited ${code} after ${Date.now() - started} ms; stderr: ${stderr}`);
      assert.match(stderr.trim(), /^wirestate: .*locked\.db: database is busy .*nothing was added[^\n]*$/);
    }
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  assert.equal(n(db, 'SELECT count(*) FROM captures'), 1);
});
