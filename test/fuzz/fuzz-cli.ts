import { runCampaign } from './run-campaign';

/**
 * npm run fuzz -- [--cases N] [--seed S] [--path P] [--cli-share F]
 *
 * Runs a fuzz campaign and exits 0 when no input broke the README's contract.
 * A failure is shrunk by fast-check to a minimal case; its seed and path are
 * printed, and `--seed S --path P` replays exactly that case.
 */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const cases = Number(arg('cases') ?? 1000);
  const seed = Number(arg('seed') ?? Date.now() % 2147483647);
  const replay = arg('path');
  const cliShare = Number(arg('cli-share') ?? 0.02);
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed) || !(cliShare >= 0 && cliShare <= 1)) {
    process.stderr.write('usage: npm run fuzz -- [--cases N] [--seed S] [--path P] [--cli-share 0..1]\n');
    return 2;
  }
  const t0 = Date.now();
  process.stdout.write(`fuzz: ${cases} cases, seed ${seed}${replay ? `, path ${replay}` : ''}, ${Math.round(cliShare * 100)}% through the CLI\n`);
  const r = await runCampaign({
    cases,
    seed,
    path: replay,
    cliShare,
    onProgress: (n) => process.stdout.write(`  ${n} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`),
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  process.stdout.write(`outcomes: ${JSON.stringify(r.outcomes)}; ${r.cliCases} through the real CLI\n`);
  if (r.ok) {
    process.stdout.write(`fuzz: ${r.cases} cases, no violation of the contract (${secs} s)\n`);
    return 0;
  }
  process.stdout.write(`${r.report}\n`);
  process.stdout.write(`shrunk input: ${r.inputFile}\ncase: ${JSON.stringify(r.counterexample)}\n`);
  process.stdout.write(`fuzz: VIOLATION after ${r.cases} cases (${secs} s); replay: npm run fuzz -- --seed ${seed} --path ${r.path}\n`);
  return 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fuzz: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
