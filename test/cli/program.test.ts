import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli/main';

test('the program registers every subcommand the README documents', () => {
  const names = buildProgram().commands.map((c) => c.name()).sort();
  assert.deepEqual(names, ['analyze', 'clickhouse', 'export', 'flows', 'ingest', 'interfaces', 'live', 'query', 'report', 'stats', 'timeline']);
});

test('usage errors read like every other error: "wirestate: ..." and exit status 2, for the program and each subcommand', async () => {
  const { runCli } = await import('./run-cli');
  const unknown = runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^wirestate: unknown command 'frobnicate'\n/);
  for (const cmd of ['analyze', 'ingest', 'report', 'flows', 'query', 'stats', 'live', 'interfaces', 'export', 'clickhouse', 'timeline']) {
    const r = runCli([cmd, '--no-such-flag']);
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /^wirestate: unknown option '--no-such-flag'\n/, cmd);
  }
  assert.equal(runCli(['--help']).code, 0);
  assert.equal(runCli(['--version']).code, 0);
});
