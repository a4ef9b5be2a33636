import { diffCapture, describeDifferences, HAVE_TCPTRACE, HAVE_TSHARK } from './diff-capture';
import { DIFFERENCE_RULES } from './difference-rules';

/**
 * By hand, for captures too large for a unit test:
 *   node dist/test/diff/run-diff.js FILE... [--examples N] [--via-ingest] [--summary]
 * Prints, per file, every check with rows compared / agreed / explained by a
 * rule / unexplained, and examples of the unexplained ones. Exit status 1
 * when anything is unexplained. --summary: one markdown table row per file.
 * --via-ingest compares the flows table the
 * CLI's ingest writes instead of the in-process engine's records.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let examples = 10;
  let via: 'engine' | 'ingest' = 'engine';
  let summary = false;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--examples') examples = Number(args[++i]);
    else if (args[i] === '--via-ingest') via = 'ingest';
    else if (args[i] === '--summary') summary = true;
    else files.push(args[i]);
  }
  if (files.length === 0) {
    console.error('usage: run-diff FILE... [--examples N] [--via-ingest] [--summary]');
    process.exitCode = 2;
    return;
  }
  if (!HAVE_TSHARK) console.log('tshark not installed: only tcptrace compared');
  if (!HAVE_TCPTRACE) console.log('tcptrace not installed: only tshark compared');
  let bad = 0;
  for (const file of files) {
    const t0 = Date.now();
    const r = await diffCapture(file, via);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (summary) {
      let compared = 0;
      let agreed = 0;
      for (const v of r.compared.values()) compared += v;
      for (const v of r.agreed.values()) agreed += v;
      const why = [...r.explained].map(([id, c]) => `${id} ${c}`).join(', ');
      const tt = r.tcptraceConns === null ? `tcptrace skipped: ${r.tcptraceSkipped}` : `tcptrace ${r.tcptraceConns}`;
      console.log(`| ${file} | ${r.flows} | ${r.tsharkConns} | ${tt} | ${compared} | ${agreed} | ${why || '-'} | ${r.unexplained.length} |`);
      bad += r.unexplained.length;
      continue;
    }
    console.log(`\n${file}: ${r.flows} flows, tshark ${r.tsharkConns} streams, tcptrace ${r.tcptraceConns ?? `skipped (${r.tcptraceSkipped})`} connections; ${secs} s`);
    const byKind = new Map<string, { unexplained: number; explained: number }>();
    for (const d of r.differences) {
      const k = `${d.tool} ${d.check.replace(/^(orig|resp)\./, '')}`;
      const e = byKind.get(k) ?? { unexplained: 0, explained: 0 };
      if (d.reason === undefined) e.unexplained++;
      else e.explained++;
      byKind.set(k, e);
    }
    console.log('  check                         compared     agree  explained  unexplained');
    for (const [k, total] of [...r.compared].sort()) {
      const e = byKind.get(k) ?? { unexplained: 0, explained: 0 };
      console.log(`  ${k.padEnd(28)} ${String(total).padStart(9)} ${String(r.agreed.get(k) ?? 0).padStart(9)} ${String(e.explained).padStart(10)} ${String(e.unexplained).padStart(12)}`);
    }
    for (const [id, count] of r.explained) console.log(`  explained by ${id}: ${count}`);
    if (r.unexplained.length > 0) {
      bad += r.unexplained.length;
      console.log(`  UNEXPLAINED (${r.unexplained.length}):\n${describeDifferences(r.unexplained, examples)}`);
    }
  }
  console.log(`\nrules: ${DIFFERENCE_RULES.map((x) => x.id).join(', ')}`);
  if (bad > 0) process.exitCode = 1;
}
void main();
