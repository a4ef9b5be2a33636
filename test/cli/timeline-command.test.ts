import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { runCli, tmpDir } from './run-cli';
import type { StateTimeline } from '../../src/store/state-timeline';
import { formatOffset } from '../../src/report/render-timeline';

const dir = tmpDir();
const db = path.join(dir, 'tl.db');
const truth = JSON.parse(fs.readFileSync(fixture('nginx-closewait-pileup.json'), 'utf8')) as { client: string; server: string };

test.before(() => {
  const r = runCli(['ingest', fixture('nginx-closewait-pileup.pcap'), '--db', db, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
});
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function json(args: string[]): StateTimeline {
  const r = runCli(['timeline', '--db', db, '--format', 'json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StateTimeline;
}

test('text: one sparkline row per state with first, peak, when and last, as in the JSON; fits 80 columns', () => {
  const r = runCli(['timeline', '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  for (const l of lines) assert.ok([...l].length <= 80, `${[...l].length} columns: ${l}`);
  const tl = json([]);
  const rows = lines.filter((l) => /^[A-Z_0-9]+ /.test(l));
  assert.deepEqual(rows.map((l) => l.split(' ')[0]), tl.series.map((s) => s.state));
  for (const s of tl.series) {
    const row = rows.find((l) => l.startsWith(`${s.state} `)) as string;
    const [spark, nums] = row.slice(13).split('|');
    assert.equal([...spark].length, 40);
    assert.match(spark, /^[ ▁▂▃▄▅▆▇█]+$/);
    const peak = Math.max(...s.points.map((p) => p.max));
    const at = (s.points.find((p) => p.max === peak) as { t: number }).t - tl.startTs;
    assert.deepEqual(nums.trim().split(/\s+/), [String(s.points[0].count), String(peak), formatOffset(at), String(s.points[s.points.length - 1].count)]);
    // The peak shows as a full block somewhere on the row.
    assert.ok(spark.includes('█'), row);
  }
  assert.ok(tl.series.some((s) => s.state === 'CLOSE_WAIT'));
});

test('--state takes ss spelling, several at once or comma-separated; --by host lists each host', () => {
  const a = json(['--state', 'close-wait', 'time-wait']);
  const b = json(['--state', 'CLOSE_WAIT,Time_Wait']);
  assert.deepEqual(a.series.map((s) => s.state), ['TIME_WAIT', 'CLOSE_WAIT']);
  assert.deepEqual(a, b);
  const r = runCli(['timeline', '--db', db, '--by', 'host', '--state', 'close-wait', 'fin-wait-2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^host ${truth.client.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^host ${truth.server.replace(/\./g, '\\.')}$`, 'm'));
  const h = json(['--by', 'host', '--state', 'close-wait', 'fin-wait-2']);
  assert.deepEqual(h.series.map((s) => `${s.group} ${s.state}`).sort(), [`${truth.client} CLOSE_WAIT`, `${truth.server} FIN_WAIT_2`].sort());
});

test('CSV has one row per point of the JSON, for gnuplot and spreadsheets', () => {
  const r = runCli(['timeline', '--db', db, '--format', 'csv', '--every', '10']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\r\n');
  assert.equal(lines[0], 'capture_id,group_kind,group,state,ts,offset_s,count,min,max');
  const tl = json(['--every', '10']);
  assert.equal(tl.bucketS, 10);
  const expected = tl.series.flatMap((s) => s.points.map((p) => `1,all,all,${s.state},${p.t},${Math.round((p.t - tl.startTs) * 1e6) / 1e6},${p.count},${p.min},${p.max}`));
  assert.deepEqual(lines.slice(1), expected);
});

test('errors are one line: unknown capture, bad --every, unknown state, missing database', () => {
  const cases: [string[], number, RegExp][] = [
    [['--capture', '9'], 2, /no capture with id 9/],
    [['--every', '-1'], 2, /--every/],
    [['--every', '0.000001'], 2, /buckets over this capture/],
    [['--state', 'closed'], 2, /not a counted TCP state/],
  ];
  for (const [args, code, re] of cases) {
    const r = runCli(['timeline', '--db', db, ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n')[0].startsWith('wirestate') || r.stderr.includes('error:'), true);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  }
  const missing = runCli(['timeline', '--db', path.join(dir, 'nope.db')]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
});
