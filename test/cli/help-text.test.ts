import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli, tmpDir } from './run-cli';

// What an SRE sees first: every help screen fits 80 columns and the program's says what to type.

const COMMANDS = ['analyze', 'ingest', 'report', 'flows', 'query', 'stats', 'live', 'interfaces', 'export', 'clickhouse', 'clickhouse init'];

test('every --help fits 80 columns; the program help starts with a runnable example', () => {
  const top = runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^  wirestate analyze capture\.pcap /m);
  assert.match(top.stdout, /orig = the side that sent the SYN/);
  for (const cmd of [[], ...COMMANDS.map((c) => c.split(' '))]) {
    const r = runCli([...cmd, '--help']);
    assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`);
    for (const l of r.stdout.split('\n')) assert.ok(l.length <= 80, `wirestate ${cmd.join(' ')} --help: ${JSON.stringify(l)}`);
  }
});

test('the examples in the help screens run on a real capture', () => {
  const db = path.join(tmpDir(), 'w.db');
  const { fixture } = require('../helpers/paths') as typeof import('../helpers/paths');
  assert.equal(runCli(['analyze', fixture('server-never-closes.pcap'), '--db', db, '-q']).code, 0);
  const cw = runCli(['flows', '--db', db, '--state', 'CLOSE_WAIT']);
  assert.equal(cw.code, 0, cw.stderr);
  assert.match(cw.stdout, /CLOSE_WAIT/);
  const q = runCli(['query', '--db', db, 'SELECT stuck_h, count(*), max(stuck_s) FROM close_wait GROUP BY stuck_h']);
  assert.equal(q.code, 0, q.stderr);
  const t = runCli(['query', '--db', db, '--format', 'csv', 'SELECT * FROM transitions WHERE flow_id = 2']);
  assert.equal(t.code, 0, t.stderr);
  assert.ok(t.stdout.split('\r\n').length > 3);
});

test('analyze --help: --capture defaults to the capture just read, and analyze reports that one even when it is not the newest', () => {
  const help = runCli(['analyze', '--help']).stdout.replace(/\s+/g, ' ');
  assert.match(help, /--capture <id> capture to report on \(default: the capture these files are in\)/);
  assert.match(runCli(['report', '--help']).stdout.replace(/\s+/g, ' '), /--capture <id> capture to report on \(default: the newest\)/);
  const { fixture } = require('../helpers/paths') as typeof import('../helpers/paths');
  const db = path.join(tmpDir(), 'w.db');
  assert.equal(runCli(['ingest', fixture('server-never-closes.pcap'), '--db', db, '-q']).code, 0);
  assert.equal(runCli(['ingest', fixture('client-closes-first.pcap'), '--db', db, '-q']).code, 0);
  // Capture 1 is not the newest: analyze of its file still reports capture 1.
  const r = runCli(['analyze', fixture('server-never-closes.pcap'), '--db', db, '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^wirestate report: capture 1 of 2 /);
});

test('usage errors read like every other error: "wirestate: ..." on one line (plus the --help hint), exit status 2', () => {
  const db = path.join(tmpDir(), 'none.db');
  const cases = [
    ['flows', '--db', db, '--state', 'sleepy'],
    ['report', '--db', db, '--capture', 'abc'],
    ['report', '--db', db, '--format', 'xml'],
    ['query', '--db', db],
    ['stats', '--bogus', 'x'],
    ['ingest', '--db', db],
    ['analyze', '--db', db, '--warn-age', '-1', 'x.pcap'],
  ];
  for (const args of cases) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0], /^wirestate: \S/, args.join(' '));
    assert.doesNotMatch(lines[0], /^wirestate: error:/);
    assert.deepEqual(lines.slice(1), ['(run with --help for usage)'], args.join(' '));
    assert.equal(r.stdout, '');
  }
  // Help is not an error.
  assert.equal(runCli(['flows', '--help']).code, 0);
});
