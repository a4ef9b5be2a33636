import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readCapture } from '../../src/source/read-capture';
import type { ReadResult } from '../../src/source/capture-info';
import { CaptureError } from '../../src/source/capture-error';
import { captureStats } from '../../src/decode/capture-stats';
import { runIngest } from '../../src/cli/ingest-command';
import { openStoreForWriting } from '../../src/cli/open-store';
import { reportError } from '../../src/cli/cli-error';
import { runCli } from '../cli/run-cli';
import { expect, type Expected } from './framing-model';

/**
 * The README's promises about bad input, checked on one input:
 * - exit status (0, or 1 when unusable or fatally damaged);
 * - every message one line starting "wirestate: " and naming the file, no stack trace;
 * - an intact database (PRAGMA integrity_check, schema present);
 * - nothing before the damage lost: the records delivered are exactly those an independent
 *   walk of the framing finds before the damage (framing-model.ts), and their count is stored;
 * - a second ingest adds nothing;
 * - stats (and, through the CLI, report) work on it.
 * In-process runs go through the CLI's own code (runIngest, reportError); the real built CLI
 * is run for a share of the cases.
 */

interface Run {
  code: number;
  stderr: string;
}

/** What `wirestate ingest FILE --db DB` does, in this process: the command's own function, stderr captured. */
async function ingestInProcess(file: string, db: string): Promise<Run> {
  const chunks: string[] = [];
  const write = process.stderr.write;
  const env = process.env.WIRESTATE_WRITER;
  process.env.WIRESTATE_WRITER = 'inline';
  process.stderr.write = ((c: string | Uint8Array) => {
    chunks.push(typeof c === 'string' ? c : Buffer.from(c).toString());
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    const store = openStoreForWriting(db);
    try {
      code = (await runIngest(store, [file], { db })).exitCode;
    } finally {
      store.close();
    }
  } catch (err) {
    code = reportError(err);
  } finally {
    process.stderr.write = write;
    if (env === undefined) delete process.env.WIRESTATE_WRITER;
    else process.env.WIRESTATE_WRITER = env;
  }
  return { code, stderr: chunks.join('') };
}

function cliRun(args: string[]): Run {
  const r = runCli(args);
  return { code: r.code ?? -1, stderr: r.stderr };
}

function checkMessages(stderr: string, file: string, what: string): string[] {
  assert.doesNotMatch(stderr, /^\s+at /m, `${what}: stack trace in\n${stderr}`);
  assert.doesNotMatch(stderr, /Invalid time value|RangeError|TypeError/, `${what}: internal error in\n${stderr}`);
  // The summary line and its indented continuation (what the capture could see, its vantage point) are not messages;
  // a stack trace ("    at ...") is caught above.
  const lines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('ingested capture ') && !l.startsWith('  '));
  for (const l of lines) {
    assert.ok(l.startsWith('wirestate: '), `${what}: line not starting "wirestate: ": ${l}`);
    assert.ok(l.includes(file), `${what}: line not naming the file: ${l}`);
  }
  return lines;
}

interface Stored {
  captures: { packets: number; truncated: number }[];
  flows: number;
}

function stored(db: string): Stored {
  const d = new Database(db, { readonly: true });
  try {
    assert.equal(d.pragma('integrity_check', { simple: true }), 'ok', 'integrity_check');
    const tables = (d.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    for (const t of ['captures', 'capture_files', 'flows', 'anomalies']) assert.ok(tables.includes(t), `table ${t} missing`);
    return {
      captures: d.prepare('SELECT packets, truncated FROM captures ORDER BY id').all() as Stored['captures'],
      flows: (d.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n,
    };
  } finally {
    d.close();
  }
}

const exitOf = (e: Expected) => (e.outcome === 'unusable' || e.outcome === 'fatal' ? 1 : 0);

/** The reader delivers exactly the records the independent walk finds, and says how the input ended. */
async function checkReader(file: string, e: Expected): Promise<void> {
  const offsets: number[] = [];
  let r: ReadResult | null = null;
  let err: unknown = null;
  try {
    r = await readCapture(file, (p) => {
      offsets.push(p.fileOffset);
    });
  } catch (x) {
    err = x;
  }
  if (e.outcome === 'unusable') {
    assert.ok(err instanceof CaptureError, `expected unusable (${e.why}), got ${err ? String(err) : `${r?.packets} packets, damage ${r?.damage?.message}`}`);
    assert.ok(err.message.startsWith(`${file}: `) && !err.message.includes('\n'), err.message);
    return;
  }
  assert.ok(r !== null, `expected a read (${e.why}), got ${String(err)}`);
  assert.deepEqual(offsets, e.records, `records delivered differ from the independent walk (${e.why})`);
  const fatal = e.outcome === 'fatal';
  if (e.outcome === 'ok') assert.equal(r.damage, null, `no damage expected (${e.why}): ${r.damage?.message}`);
  else {
    assert.ok(r.damage !== null, `damage expected (${e.why})`);
    assert.equal(r.damage.fatal, fatal, `damage fatal=${fatal} expected (${e.why}): ${r.damage.message}`);
    assert.match(r.damage.message, / at byte \d+$/);
    if (r.damage.code === 'bad_gzip') assert.equal(r.damage.rawOffset, e.gzip?.rawOffset, 'compressed offset of the gzip damage');
  }
  if (e.badTimestamps > 0) assert.equal(r.anomalies?.bad_timestamp, e.badTimestamps, 'bad_timestamp count');
  else assert.equal(r.anomalies?.bad_timestamp, undefined);
  if (e.gzip?.kind === 'trailing_garbage' && e.framing !== 'broken') {
    assert.equal(r.anomalies?.gzip_trailing_garbage, 1, `trailing garbage (${e.why})`);
    assert.equal(r.anomalyFirstOffsets?.gzip_trailing_garbage, e.gzip.rawOffset);
  }
}

/** Check one input; throws an AssertionError naming the broken promise. */
export async function checkContract(input: Buffer, viaCli: boolean, dir: string): Promise<Expected> {
  const e = expect(input);
  const file = path.join(dir, 'input.cap');
  const db = path.join(dir, 'case.db');
  rmSync(db, { force: true });
  rmSync(`${db}-wal`, { force: true });
  rmSync(`${db}-shm`, { force: true });
  writeFileSync(file, input);
  await checkReader(file, e);

  const ingest = () => (viaCli ? Promise.resolve(cliRun(['ingest', file, '--db', db])) : ingestInProcess(file, db));
  const first = await ingest();
  const lines = checkMessages(first.stderr, file, 'ingest');
  assert.equal(first.code, exitOf(e), `ingest exit ${first.code}, expected ${exitOf(e)} (${e.outcome}: ${e.why})\n${first.stderr}`);
  if (e.outcome === 'unusable') assert.equal(lines.length, 1, `one line expected:\n${first.stderr}`);
  if (e.outcome === 'fatal') assert.equal(lines.filter((l) => l.startsWith('wirestate: error: ')).length, 1, first.stderr);
  if (e.outcome === 'warning') assert.ok(lines.some((l) => l.startsWith('wirestate: warning: ') && / at byte \d+ \(everything before it was stored\)$/.test(l)), first.stderr);
  if (e.outcome === 'ok') assert.ok(lines.every((l) => l.startsWith('wirestate: warning: ')), first.stderr);
  const s1 = stored(db);
  if (e.outcome === 'unusable') assert.deepEqual(s1.captures, [], 'nothing added for an unusable input');
  else {
    assert.deepEqual(s1.captures.map((c) => c.packets), [e.records!.length], 'packets stored');
    assert.equal(s1.captures[0].truncated, e.outcome === 'ok' ? 0 : 1, 'truncated flag');
  }

  const second = await ingest();
  checkMessages(second.stderr, file, 'second ingest');
  const s2 = stored(db);
  assert.deepEqual(s2, s1, 'a second ingest added something');

  if (viaCli) {
    const st = cliRun(['stats', file]);
    checkMessages(st.stderr, file, 'stats');
    assert.equal(st.code, exitOf(e), `stats exit ${st.code}\n${st.stderr}`);
    if (e.outcome !== 'unusable') {
      const rep = runCli(['report', '--db', db]);
      assert.doesNotMatch(rep.stderr, /^\s+at |Invalid time value/m, rep.stderr);
      assert.equal(rep.code, 0, `report exit ${rep.code}\n${rep.stderr}`);
    }
  } else {
    try {
      const st = await captureStats(file);
      assert.notEqual(e.outcome, 'unusable', 'stats read an unusable input');
      assert.equal(st.packets, e.records!.length, 'stats packets');
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
      assert.equal(e.outcome, 'unusable', `stats: ${err.message}`);
      assert.ok(err.message.startsWith(`${file}: `));
    }
  }
  return e;
}
