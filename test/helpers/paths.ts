import path from 'node:path';

// Compiled tests live in <outDir>/test/...; every path is resolved from there
// so that any outDir inside the repository works (dist/, dist-x/ ...).
const outDir = path.resolve(__dirname, '..', '..');

/** The repository root (where package.json is). */
export const repoRoot = path.resolve(outDir, '..');
/** Committed captures and their ground truth. */
export const fixturesDir = path.join(repoRoot, 'fixtures');
/** The built CLI entry point that belongs to this build of the tests. */
export const cliPath = path.join(outDir, 'src', 'cli', 'main.js');

export function fixture(...parts: string[]): string {
  return path.join(fixturesDir, ...parts);
}
