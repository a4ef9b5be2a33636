import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { realFixtures, runCli, tmpDir } from './run-cli';

interface StateRow {
  orig_p: number;
  orig_state: string;
  resp_state: string;
}

function states(db: string): StateRow[] {
  const r = runCli(['query', '--db', db, '--format', 'json', 'SELECT orig_p, orig_state, resp_state FROM flows ORDER BY orig_p']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StateRow[];
}

test('--time-wait sets 2*MSL: the client TIME_WAIT that ss showed reads CLOSED once a shorter 2*MSL has passed', () => {
  const truth = realFixtures().find((f) => f.name === 'client-closes-first');
  assert.ok(truth, 'fixture client-closes-first.json');
  // Ground truth: ss listed every client socket in TIME-WAIT at capture end.
  assert.ok(truth.flows.length > 0 && truth.flows.every((f) => f.clientState === 'TIME_WAIT'));
  const dir = tmpDir();
  const pcap = fixture('client-closes-first.pcap');

  const dflt = path.join(dir, 'default.db');
  assert.equal(runCli(['ingest', '-q', pcap, '--db', dflt]).code, 0);
  const byDefault = states(dflt);
  assert.deepEqual(
    byDefault.map((r) => r.orig_p),
    truth.flows.map((f) => f.clientPort).sort((a, b) => a - b),
  );
  for (const r of byDefault) assert.equal(r.orig_state, 'TIME_WAIT');

  // The capture goes on for seconds after the closes, so a 1 s 2*MSL has expired by its end.
  const short = path.join(dir, 'short.db');
  assert.equal(runCli(['ingest', '-q', pcap, '--db', short, '--time-wait', '1']).code, 0);
  for (const r of states(short)) assert.deepEqual([r.orig_state, r.resp_state], ['CLOSED', 'CLOSED']);
  const expired = runCli(['query', '--db', short, '--format', 'json', "SELECT count(*) AS n FROM transitions WHERE cause = '2MSL expired'"]);
  assert.equal((JSON.parse(expired.stdout) as { n: number }[])[0].n, truth.flows.length);
});

test('engine flags reject values that are not a positive number of seconds, with a usage exit status', () => {
  const dir = tmpDir();
  for (const args of [
    ['--time-wait', 'abc'],
    ['--idle-timeout', '0'],
  ]) {
    const r = runCli(['ingest', fixture('client-closes-first.pcap'), '--db', path.join(dir, 'x.db'), ...args]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^wirestate: ${args[0]} must be a number of seconds > 0, got '${args[1]}'\\n$`));
  }
});
