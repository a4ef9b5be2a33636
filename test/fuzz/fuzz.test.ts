import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from './run-campaign';

// The short fuzz run of `npm test`: a fixed seed, a few hundred structural mutations of real
// captures (pcap/pcapng records, blocks and options, IPv4/IPv6/TCP headers, truncation,
// splicing, gzip layers), each checked against the README's bad-input contract; about one
// in twenty through the real built CLI (test/cli/damaged-input.test.ts runs the CLI on every
// reproducer). Longer campaigns: npm run fuzz -- --cases N --seed S.

const SEED = 15;
const CASES = 300;

test(`fuzz: ${CASES} mutated real captures (seed ${SEED}) keep the README's bad-input contract`, { timeout: 240_000 }, async () => {
  const r = await runCampaign({ cases: CASES, seed: SEED, cliShare: 0.05 });
  assert.ok(r.ok, `${r.report}\nshrunk input written to ${r.inputFile}\ncase: ${JSON.stringify(r.counterexample)}\nreplay: npm run fuzz -- --seed ${SEED} --path ${r.path}`);
  assert.equal(r.cases, CASES);
  assert.ok(r.cliCases >= 2, `only ${r.cliCases} cases through the real CLI`);
  // The mutations reach every row of the table, not just the easy one.
  for (const outcome of ['ok', 'warning', 'fatal', 'unusable']) {
    assert.ok(Object.keys(r.outcomes).some((k) => k.startsWith(outcome)), `no ${outcome} case in ${JSON.stringify(r.outcomes)}`);
  }
});
