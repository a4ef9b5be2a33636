import fs from 'node:fs';
import path from 'node:path';

/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by
 * function (name, file:line), with percentages of the sampled total.
 * Usage: node dist/bench/summarize-profile.js FILE.cpuprofile... [--top 30]
 * (one section per file: node --cpu-prof writes one profile per thread)
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  fn: string;
  where: string;
  ms: number;
  pct: number;
}

export function selfTimes(profile: Profile): SelfTime[] {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const agg = new Map<string, SelfTime>();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    const file = cf.url ? path.basename(cf.url.replace(/^file:\/\//, '')) : '';
    const where = file ? `${file}:${cf.lineNumber + 1}` : '(native)';
    const fn = cf.functionName || '(anonymous)';
    const key = `${fn}@${where}`;
    const e = agg.get(key) ?? { fn, where, ms: 0, pct: 0 };
    e.ms += us / 1000;
    agg.set(key, e);
  }
  const rows = [...agg.values()];
  for (const r of rows) r.pct = (100 * r.ms * 1000) / total;
  return rows.sort((a, b) => b.ms - a.ms);
}

if (require.main === module) {
  // Piped into head: stop quietly when the reader goes away.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : 1));
  const args = process.argv.slice(2);
  let top = 30;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else files.push(args[i]);
  }
  if (files.length === 0 || !Number.isFinite(top)) {
    process.stderr.write('usage: summarize-profile FILE.cpuprofile... [--top N]\n');
    process.exit(2);
  }
  // One profile per thread (node --cpu-prof also profiles worker threads): biggest first.
  const summaries = files
    .map((file) => {
      const rows = selfTimes(JSON.parse(fs.readFileSync(file, 'utf8')) as Profile);
      return { file, rows, totalMs: rows.reduce((a, r) => a + r.ms, 0) };
    })
    .sort((a, b) => b.totalMs - a.totalMs);
  for (const { file, rows, totalMs } of summaries) {
    process.stdout.write(`${path.basename(file)}: total sampled ${totalMs.toFixed(0)} ms\n  self ms    %  function (file:line)\n`);
    for (const r of rows.slice(0, top)) {
      process.stdout.write(`${r.ms.toFixed(1).padStart(9)} ${r.pct.toFixed(1).padStart(5)}  ${r.fn} (${r.where})\n`);
    }
    process.stdout.write('\n');
    if (summaries.length > 3 && file === summaries[0].file) top = Math.min(top, 5);
  }
}
