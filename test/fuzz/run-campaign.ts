import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { checkContract } from './contract';
import { buildInput, fuzzCase, type FuzzCase } from './mutations';

export interface CampaignOptions {
  cases: number;
  seed: number;
  /** fast-check's replay path of a failure (printed with it). */
  path?: string;
  /** Fraction of the cases run through the real built CLI. */
  cliShare: number;
  /** Called every `every` cases with the count done. */
  onProgress?: (done: number) => void;
}

export interface CampaignResult {
  ok: boolean;
  cases: number;
  /** fast-check's report: seed, path, shrunk counterexample, the error. */
  report: string;
  /** The shrunk failing input, written out for replay with wirestate itself. */
  inputFile: string | null;
  counterexample: FuzzCase | null;
  /** fast-check's path of the shrunk counterexample: with the seed, replays it. */
  path: string | null;
  outcomes: Record<string, number>;
  /** Cases run through the real built CLI. */
  cliCases: number;
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.message}` : String(err);
}

/** Run a fuzz campaign: `cases` mutated real captures, each checked against the README's contract. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  // Each case writes a database and a capture: on tmpfs when there is one, the fsyncs cost nothing.
  const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ws-fuzz-'));
  const outcomes: Record<string, number> = {};
  let done = 0;
  let cliCases = 0;
  try {
    const details = await fc.check(
      fc.asyncProperty(fuzzCase(opts.cliShare), async (c) => {
        const input = buildInput(c);
        const e = await checkContract(input, c.cli, dir);
        if (c.cli) cliCases++;
        const key = `${e.outcome}${e.gzip ? `+gzip-${e.gzip.kind}` : ''}${e.badTimestamps > 0 ? '+bad_timestamp' : ''}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        done++;
        if (opts.onProgress && done % 100 === 0) opts.onProgress(done);
      }),
      { seed: opts.seed, numRuns: opts.cases, ...(opts.path ? { path: opts.path, endOnFailure: true } : {}) },
    );
    let inputFile: string | null = null;
    const counterexample = details.counterexample ? details.counterexample[0] : null;
    if (counterexample) {
      inputFile = path.join(tmpdir(), `wirestate-fuzz-${opts.seed}-${details.counterexamplePath ?? 'x'}.bin`.replace(/:/g, '_'));
      writeFileSync(inputFile, buildInput(counterexample));
    }
    return {
      ok: !details.failed,
      cases: details.numRuns,
      report: details.failed ? `${fc.defaultReportMessage(details) ?? 'failed'}\n${errorText(details.errorInstance)}` : '',
      inputFile,
      counterexample,
      path: details.counterexamplePath ?? null,
      outcomes,
      cliCases,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
