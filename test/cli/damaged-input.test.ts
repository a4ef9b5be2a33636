import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fixture } from '../helpers/paths';
import { runCli, tmpDir } from './run-cli';

// The README's bad-input table, row by row, on the minimal reproducers of issue 15
// (fixtures/formats/damaged/, made by fixtures/make/formats-damaged.py): exit status,
// one line per message naming the file, no stack trace, an intact database, and a
// second ingest that adds nothing.

interface Case {
  name: string;
  exit: number;
  /** The message line wirestate prints (after "wirestate: "). */
  line: RegExp;
  /** Packets stored; null: nothing stored (unusable). */
  packets: number | null;
  anomaly?: string;
}

const cases: Case[] = [
  { name: 'gzip-cut-in-pcap-header.pcap.gz', exit: 1, line: /^FILE: pcap global header truncated \(4 of 24 bytes\) at byte 4$/, packets: null },
  { name: 'gzip-cut-in-section-header.pcapng.gz', exit: 1, line: /^FILE: pcapng section header block truncated \(4 bytes\) at byte 4$/, packets: null },
  {
    name: 'gzip-flipped-near-end.pcap.gz',
    exit: 1,
    line: /^error: FILE: gzip data corrupt \(invalid distance too far back at compressed byte \d+, \d+ bytes decompressed\), decompressed data ends at byte \d+ \(reading stopped there; everything before it was stored\)$/,
    packets: 26,
  },
  {
    name: 'gzip-trailing-junk.pcap.gz',
    exit: 0,
    line: /^warning: FILE: 64 bytes after the end of the gzip stream are not gzip \(incorrect header check\): ignored as trailing garbage, everything before them read, at compressed byte 917$/,
    packets: 28,
    anomaly: 'gzip_trailing_garbage',
  },
  { name: 'gzip-two-members.pcap.gz', exit: 0, line: /^$/, packets: 28 },
  {
    name: 'pcapng-last-block-cut.pcapng',
    exit: 0,
    line: /^warning: FILE: last block runs past the end of the file \(10 bytes left, capture was probably cut short\) at byte \d+ \(everything before it was stored\)$/,
    packets: 27,
  },
  {
    name: 'pcapng-epb-ts-max.pcapng',
    exit: 0,
    line: /^warning: FILE: 1 record with a time outside 1970-01-01\.\.9999-12-31 skipped \(bad_timestamp\), first at byte 376$/,
    packets: 27,
    anomaly: 'bad_timestamp',
  },
  { name: 'pcapng-tsoffset-2e62.pcapng', exit: 0, line: /^warning: FILE: 28 records with a time outside .* skipped \(bad_timestamp\), first at byte \d+$/, packets: 0, anomaly: 'bad_timestamp' },
  { name: 'pcapng-tsresol-0-on-ns.pcapng', exit: 0, line: /^warning: FILE: 23 records with a time outside .* skipped \(bad_timestamp\), first at byte \d+$/, packets: 0, anomaly: 'bad_timestamp' },
];

function messages(stderr: string): string[] {
  // The summary line and its indented continuation (what the capture could see, its vantage point) are not messages.
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('ingested capture ') && !l.startsWith('  '));
}

function noStack(stderr: string): void {
  assert.doesNotMatch(stderr, /^\s+at /m, stderr);
  assert.doesNotMatch(stderr, /Error:|Invalid time value/, stderr);
}

function intact(db: string): Database.Database {
  const d = new Database(db, { readonly: true });
  assert.equal(d.pragma('integrity_check', { simple: true }), 'ok');
  assert.ok(d.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('captures', 'flows', 'anomalies')").get() as { n: number }, 'schema');
  return d;
}

for (const c of cases) {
  test(`ingest, report and stats of ${c.name}: exit ${c.exit}, as the README's table says`, () => {
    const file = fixture('formats', 'damaged', c.name);
    const db = path.join(tmpDir(), 'x.db');
    const r = runCli(['ingest', file, '--db', db]);
    noStack(r.stderr);
    assert.equal(r.code, c.exit, r.stderr);
    const lines = messages(r.stderr);
    const want = new RegExp(c.line.source.replace('FILE', file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    if (c.line.source === '^$') assert.deepEqual(lines, []);
    else assert.equal(lines.length, 1, r.stderr);
    for (const l of lines) assert.match(l, new RegExp(`^wirestate: ${want.source.slice(1)}`));
    const d = intact(db);
    const caps = d.prepare('SELECT id, packets FROM captures').all() as { id: number; packets: number }[];
    if (c.packets === null) assert.deepEqual(caps, []);
    else {
      assert.deepEqual(caps.map((x) => x.packets), [c.packets]);
      if (c.anomaly) assert.ok(d.prepare('SELECT count FROM anomalies WHERE name = ? AND flow_id IS NULL').get(c.anomaly), c.anomaly);
    }
    d.close();
    // A second ingest adds nothing.
    const again = runCli(['ingest', file, '--db', db]);
    noStack(again.stderr);
    const d2 = intact(db);
    assert.deepEqual((d2.prepare('SELECT id, packets FROM captures').all() as unknown[]).length, caps.length);
    d2.close();
    if (c.packets !== null) assert.match(again.stderr, /already ingested as capture 1; nothing added/);
    // The report and stats work on what was stored.
    if (c.packets !== null) {
      const rep = runCli(['report', '--db', db, '--format', 'json']);
      noStack(rep.stderr);
      assert.equal(rep.code, 0, rep.stderr);
    }
    const st = runCli(['stats', file]);
    noStack(st.stderr);
    assert.equal(st.code, c.exit, st.stderr);
  });
}

test('a database poisoned by an older version (times no Date can hold) still reports', () => {
  // What the previous version stored for pcapng-epb-ts-max.pcapng (1.8e13 s) and
  // pcapng-tsoffset-2e62.pcapng (4.6e18 s), seen by running it; and worse.
  const db = path.join(tmpDir(), 'old.db');
  assert.equal(runCli(['ingest', fixture('nginx-keepalive-closewait.pcap'), '--db', db, '-q']).code, 0);
  const d = new Database(db);
  d.prepare('UPDATE captures SET last_ts = ?').run(18446744073709.6);
  d.prepare('UPDATE capture_files SET last_ts = ?').run(18446744073709.6);
  const bad = [4.61168602022314e18, 1e300, -1e300, 18446744073709.6];
  const ids = (d.prepare('SELECT id FROM flows ORDER BY id').all() as { id: number }[]).map((x) => x.id);
  ids.forEach((id, i) => {
    const v = bad[i % bad.length];
    if (i % 3 === 0) d.prepare('UPDATE flows SET first_ts = ?, last_ts = ? WHERE id = ?').run(v, v, id);
    if (i % 3 === 1) d.prepare('UPDATE flows SET first_fin_ts = ?, resp_state_since = ?, orig_state_since = ? WHERE id = ?').run(v, v, v, id);
  });
  d.close();
  for (const args of [['report'], ['report', '--format', 'json'], ['flows'], ['flows', '--format', 'json'], ['query', 'SELECT * FROM close_wait']]) {
    const r = runCli([...args, '--db', db]);
    noStack(r.stderr);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0);
  }
});
