import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli/main';

test('the program registers every subcommand the README documents', () => {
  const names = buildProgram().commands.map((c) => c.name()).sort();
  assert.deepEqual(names, ['analyze', 'flows', 'ingest', 'interfaces', 'live', 'query', 'report', 'stats']);
});
