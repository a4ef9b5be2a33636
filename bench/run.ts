import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTraffic, type GenerateSummary, type Profile } from './generate-traffic';
import { hasGnuTime, measureCommand, median, which, type RunResult } from './measure-command';
import { renderBreakdown, type StageBreakdown } from './stage-timings';
import { liveLossLine, liveLossTable, liveLossUnavailable, runLiveLoss, type LiveLossResult } from './live-loss';

/**
 * `npm run bench`: builds the workloads (generated traffic at 1x and 4x the
 * duration with the same concurrency, a busy proxy's capture with tens of
 * thousands of connections held in TIME_WAIT / CLOSE_WAIT at its end, plus a
 * large real capture when the fixture script for it exists), then times
 * `cat`, `wirestate ingest` into a fresh database, `tcptrace -n` and
 * `tshark -q -z conv,tcp` on each file, in turn (run 1 of every tool, then
 * run 2, ...: a machine whose speed drifts affects them alike), prints
 * wirestate's per-stage breakdown under each file's table and checks the
 * targets of issue 13 on every workload. Reports; fails the process only with
 * --strict.
 */

interface Options {
  runs: number;
  json: boolean;
  strict: boolean;
  connections: number;
  scale: number;
  seed: number;
  workDir: string;
  tools: string[];
  skipScaled: boolean;
  skipReal: boolean;
  skipProxy: boolean;
  /** Runs of the in-process stage breakdown per file (0: none). */
  stageRuns: number;
  skipLive: boolean;
}

const outDir = path.resolve(__dirname, '..');
const repoRoot = path.resolve(outDir, '..');
const cliPath = path.join(outDir, 'src', 'cli', 'main.js');
/** wirestate-no-http: `wirestate ingest --no-http`, on generated-1x only: beside wirestate it shows what the HTTP parser costs (issue 11). */
const TOOLS = ['cat', 'wirestate', 'wirestate-no-http', 'tcptrace', 'tshark'] as const;
type Tool = (typeof TOOLS)[number];

function usage(): string {
  return [
    'usage: npm run bench -- [options]',
    '  --runs N          timed runs per tool and file, the median is reported (default 3)',
    '  --connections N   connections in the generated 1x file (default 50000)',
    '  --scale N         the long file is N times longer, same concurrency (default 4)',
    '  --seed N          generator seed (default 1)',
    '  --tools a,b       subset of cat,wirestate,wirestate-no-http,tcptrace,tshark',
    '  --no-scaled       skip the long generated file',
    '  --no-real         skip the real capture',
    '  --no-proxy        skip the busy-proxy capture',
    '  --no-live         skip the live capture at rising packet rates (bench/live-loss.ts)',
    '  --stage-runs N    runs of the per-stage breakdown of each file, median shown (default 1; 0: none)',
    '  --work DIR        where workloads and databases go (default bench/work)',
    '  --json            print the results as JSON instead of a table',
    '  --strict          exit 1 when a target fails',
  ].join('\n');
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    runs: 3,
    json: false,
    strict: false,
    connections: 50_000,
    scale: 4,
    seed: 1,
    workDir: path.join(repoRoot, 'bench', 'work'),
    tools: [...TOOLS],
    skipScaled: false,
    skipReal: false,
    skipProxy: false,
    stageRuns: 1,
    skipLive: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${a} needs a positive integer`);
      return n;
    };
    if (a === '--runs') o.runs = num();
    else if (a === '--connections') o.connections = num();
    else if (a === '--scale') o.scale = num();
    else if (a === '--seed') o.seed = num();
    else if (a === '--json') o.json = true;
    else if (a === '--strict') o.strict = true;
    else if (a === '--no-scaled') o.skipScaled = true;
    else if (a === '--no-real') o.skipReal = true;
    else if (a === '--no-proxy') o.skipProxy = true;
    else if (a === '--no-live') o.skipLive = true;
    else if (a === '--stage-runs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error('--stage-runs needs a non-negative integer');
      o.stageRuns = n;
    }
    else if (a === '--work') o.workDir = path.resolve(argv[++i] ?? '');
    else if (a === '--tools') {
      o.tools = (argv[++i] ?? '').split(',').filter((t) => t.length > 0);
      for (const t of o.tools) if (!(TOOLS as readonly string[]).includes(t)) throw new Error(`unknown tool ${t}`);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(usage() + '\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${usage()}`);
  }
  return o;
}

interface Workload {
  name: string;
  file: string;
  bytes: number;
  packets: number;
  connections: number;
  peakActive?: number;
  /** Connections still in TIME_WAIT or CLOSE_WAIT (or otherwise open) when the capture ends. */
  heldAtEnd?: number;
  note?: string;
}

interface ToolResult {
  tool: Tool;
  runs: RunResult[];
  wallS: number;
  /** Median user + system CPU seconds. */
  cpuS: number;
  peakRssMb: number;
  pktsPerS: number;
  mbPerS: number;
  skipped?: string;
  failed?: string;
  /** Flows found in the database after a wirestate run (a check that the ingest did the work). */
  flows?: number;
}

interface FileResult {
  workload: Workload;
  tools: ToolResult[];
  stages?: StageBreakdown;
  stagesError?: string;
}

interface Target {
  name: string;
  status: 'PASS' | 'FAIL' | 'N/A';
  detail: string;
}

const log = (msg: string): void => {
  process.stderr.write(`[bench] ${msg}\n`);
};

function fromSummary(name: string, s: GenerateSummary): Workload {
  return { name, file: s.file, bytes: s.fileBytes, packets: s.packets, connections: s.connections, peakActive: s.peakActive };
}

function generate(o: Options, name: string, repeat: number, profile: Profile = 'mixed'): Workload {
  const file = path.join(o.workDir, `${name}.pcap`);
  const t0 = Date.now();
  const s = generateTraffic({ out: file, connections: o.connections, repeat, seed: o.seed, profile });
  fs.writeFileSync(`${file}.summary.json`, JSON.stringify(s, null, 2) + '\n');
  log(
    `generated ${path.relative(repoRoot, file)}: ${s.packets} packets, ${s.connections} connections, ` +
      `${(s.fileBytes / 1e6).toFixed(1)} MB, ${s.durationS.toFixed(0)} s of traffic, ` +
      `peak ${s.peakActive} / mean ${s.meanActive} open connections (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return fromSummary(name, s);
}

/** Packet count of a capture through capinfos (for the real capture, whose size we do not know). */
function countPackets(file: string): number {
  const r = spawnSync('capinfos', ['-c', '-M', '-T', file], { encoding: 'utf8' });
  if (r.status !== 0) return NaN;
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return Number(last.split('\t').pop());
}

function realCapture(o: Options): Workload | string {
  const script = path.join(repoRoot, 'fixtures', 'make', 'large-capture.sh');
  if (!fs.existsSync(script)) return `no ${path.relative(repoRoot, script)} in this checkout: real capture skipped`;
  const file = path.join(o.workDir, 'real-large.pcap');
  if (!fs.existsSync(file)) {
    // The script uses fixed namespace names and removes leftovers first: never
    // start it while another run of it (someone else's) is going on.
    const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    if (/wsb-large-capture/.test(ns.stdout ?? '')) return 'another large-capture.sh run is in progress (namespace wsb-large-capture-* exists): real capture skipped';
    log(`making the real capture with ${path.relative(repoRoot, script)} (needs root, iproute2, tcpdump, nginx; a few minutes) ...`);
    const partial = path.join(o.workDir, 'real-large.partial.pcap');
    const r = spawnSync('bash', [script, partial], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0 || !fs.existsSync(partial)) {
      fs.rmSync(partial, { force: true });
      return `${path.relative(repoRoot, script)} failed (exit ${r.status ?? r.signal}): real capture skipped`;
    }
    fs.renameSync(partial, file);
    if (fs.existsSync(`${partial.replace(/\.pcap$/, '')}.json`)) fs.renameSync(`${partial.replace(/\.pcap$/, '')}.json`, file.replace(/\.pcap$/, '.json'));
  } else {
    log(`reusing ${path.relative(repoRoot, file)} (delete it to capture again)`);
  }
  const bytes = fs.statSync(file).size;
  return { name: 'real-large', file, bytes, packets: countPackets(file), connections: NaN };
}

function removeDb(db: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(db + suffix, { force: true });
}

/** Flows in the database after a wirestate run, and how many were still in TIME_WAIT or CLOSE_WAIT at the capture's end. */
function countFlows(db: string): { flows: number; held: number } | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const row = conn
        .prepare(
          `SELECT count(*) AS flows,
                  coalesce(sum(orig_state IN ('TIME_WAIT', 'CLOSE_WAIT') OR resp_state IN ('TIME_WAIT', 'CLOSE_WAIT')), 0) AS held
           FROM flows`,
        )
        .get() as { flows: number; held: number };
      return row;
    } finally {
      conn.close();
    }
  } catch {
    return undefined;
  }
}

function commandFor(tool: Tool, file: string, db: string): [string, string[]] {
  switch (tool) {
    case 'cat':
      return ['cat', [file]];
    case 'wirestate':
      return [process.execPath, [cliPath, 'ingest', file, '--db', db, '--quiet']];
    case 'wirestate-no-http':
      return [process.execPath, [cliPath, 'ingest', file, '--db', db, '--quiet', '--no-http']];
    case 'tcptrace':
      return ['tcptrace', ['-n', file]];
    case 'tshark':
      return ['tshark', ['-q', '-z', 'conv,tcp', '-r', file]];
  }
}

function missingReason(tool: Tool): string | undefined {
  if (tool === 'wirestate' || tool === 'wirestate-no-http') return fs.existsSync(cliPath) ? undefined : `${cliPath} not built`;
  if (!which(tool)) return `${tool} not installed (Debian: apt-get install ${tool === 'tshark' ? 'tshark' : tool})`;
  return undefined;
}

/** Every tool on one file, in turn: run 1 of each tool, then run 2 of each, ... */
async function benchTools(o: Options, tools: readonly Tool[], w: Workload): Promise<ToolResult[]> {
  const results = tools.map((tool): ToolResult => {
    const missing = missingReason(tool);
    return { tool, runs: [], wallS: NaN, cpuS: NaN, peakRssMb: NaN, pktsPerS: NaN, mbPerS: NaN, ...(missing ? { skipped: missing } : {}) };
  });
  const db = path.join(o.workDir, 'fresh.db');
  for (let i = 0; i < o.runs; i++) {
    for (const result of results) {
      if (result.skipped || result.failed) continue;
      const tool = result.tool;
      const [cmd, args] = commandFor(tool, w.file, db);
      if (tool === 'wirestate' || tool === 'wirestate-no-http') removeDb(db);
      const r = await measureCommand(cmd, args, repoRoot);
      if (r.exitCode !== 0) {
        result.failed = `${tool} exited ${r.exitCode}: ${r.error ?? ''}`;
        log(`${w.name} ${tool}: ${result.failed}`);
        continue;
      }
      result.runs.push(r);
      log(`${w.name} ${tool} run ${i + 1}/${o.runs}: ${r.wallS.toFixed(3)} s, ${(r.peakRssKb / 1024).toFixed(0)} MB`);
      if (tool === 'wirestate' && i === 0) {
        const n = countFlows(db);
        result.flows = n?.flows;
        if (n) w.heldAtEnd = n.held;
      }
    }
  }
  removeDb(db);
  for (const result of results) {
    if (result.runs.length > 0 && !result.failed) {
      result.wallS = median(result.runs.map((r) => r.wallS));
      result.cpuS = median(result.runs.map((r) => r.cpuS));
      result.peakRssMb = median(result.runs.map((r) => r.peakRssKb)) / 1024;
      result.pktsPerS = w.packets / result.wallS;
      result.mbPerS = w.bytes / 1e6 / result.wallS;
    }
  }
  return results;
}

/** wirestate's per-stage breakdown on one file, in a process of its own (bench/stage-timings.ts). */
function stagesOf(o: Options, w: Workload): StageBreakdown | string {
  const script = path.join(outDir, 'bench', 'stage-timings.js');
  const r = spawnSync(process.execPath, [script, w.file, String(o.stageRuns), '--json'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) return `stage-timings exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`;
  return JSON.parse(r.stdout) as StageBreakdown;
}

function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

function fmtCount(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(0)}k`;
  return x.toFixed(0);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

function renderFile(fr: FileResult): string {
  const w = fr.workload;
  const ws = fr.tools.find((t) => t.tool === 'wirestate');
  const head =
    `${w.name}: ${path.relative(repoRoot, w.file)}, ${(w.bytes / 1e6).toFixed(1)} MB, ${fmtCount(w.packets)} packets` +
    (Number.isFinite(w.connections) ? `, ${fmtCount(w.connections)} connections` : '') +
    (w.peakActive ? `, peak ${w.peakActive} open at once` : '') +
    (w.heldAtEnd ? `, ${fmtCount(w.heldAtEnd)} in TIME_WAIT/CLOSE_WAIT at the end` : '');
  const rows: string[][] = [['tool', 'wall s', 'min-max s', 'cpu s', 'packets/s', 'MB/s', 'peak RSS MB', 'wirestate / tool']];
  const notes: string[] = [];
  for (const t of fr.tools) {
    if (t.skipped || t.failed) {
      rows.push([t.tool, t.skipped ? 'skipped' : 'FAILED', '', '', '', '', '', '']);
      notes.push(`  ${t.tool}: ${t.skipped ?? t.failed}`);
      continue;
    }
    const walls = t.runs.map((r) => r.wallS);
    const ratio = ws && Number.isFinite(ws.wallS) && t.tool !== 'wirestate' ? fmt(ws.wallS / t.wallS, 2) + 'x' : '';
    rows.push([
      t.tool + (t.flows !== undefined ? ` (${t.flows} flows)` : ''),
      fmt(t.wallS, 3),
      `${fmt(Math.min(...walls), 3)}-${fmt(Math.max(...walls), 3)}`,
      fmt(t.cpuS, 2),
      fmtCount(t.pktsPerS),
      fmt(t.mbPerS, 1),
      fmt(t.peakRssMb, 1),
      ratio,
    ]);
  }
  if (fr.stages) notes.push(renderBreakdown(fr.stages));
  else if (fr.stagesError) notes.push(`  stages: ${fr.stagesError}`);
  return [head, table(rows), ...notes].join('\n');
}

/** The targets of issue 13, on every workload: speed against tcptrace and tshark, peak RSS, and RSS flat on the longer file. */
function checkTargets(results: FileResult[]): Target[] {
  const ok = (t: ToolResult | undefined): t is ToolResult => t !== undefined && Number.isFinite(t.wallS);
  const of = (fr: FileResult, tool: Tool): ToolResult | undefined => fr.tools.find((t) => t.tool === tool);
  const targets: Target[] = [];
  for (const fr of results) {
    const name = fr.workload.name;
    const ws = of(fr, 'wirestate');
    const speed = (tool: Tool, factor: number): void => {
      const label = `${name}: >= ${factor}x faster than ${tool === 'tcptrace' ? 'tcptrace -n' : 'tshark -z conv,tcp'}`;
      const other = of(fr, tool);
      if (!ok(ws) || !ok(other)) {
        targets.push({ name: label, status: 'N/A', detail: `needs wirestate and ${tool} timings` });
        return;
      }
      const ratio = other.wallS / ws.wallS;
      targets.push({
        name: label,
        status: ratio >= factor ? 'PASS' : 'FAIL',
        detail: `${tool} ${fmt(other.wallS, 3)} s / wirestate ${fmt(ws.wallS, 3)} s = ${fmt(ratio, 2)}x (by cpu time ${fmt(other.cpuS / ws.cpuS, 2)}x)`,
      });
    };
    speed('tcptrace', 1.2);
    speed('tshark', 6);
    const noHttp = of(fr, 'wirestate-no-http');
    if (ok(ws) && ok(noHttp)) {
      // Runs alternate, so run i of each was taken under the same conditions: the median of the pairs' ratios.
      const pairs = Math.min(ws.runs.length, noHttp.runs.length);
      const ratio = (k: 'wallS' | 'cpuS'): number => median(Array.from({ length: pairs }, (_, i) => ws.runs[i][k] / noHttp.runs[i][k]));
      targets.push({
        name: `${name}: ingest with the HTTP parser at most 1.10x of --no-http (issue 11)`,
        status: ratio('wallS') <= 1.1 ? 'PASS' : 'FAIL',
        detail: `wall ${fmt(ws.wallS, 3)} s vs ${fmt(noHttp.wallS, 3)} s, paired ratio ${fmt(ratio('wallS'), 3)}x (cpu ${fmt(ratio('cpuS'), 3)}x)`,
      });
    }
    if (ok(ws) && Number.isFinite(ws.peakRssMb)) {
      targets.push({
        name: `${name}: peak RSS < 300 MB`,
        status: ws.peakRssMb < 300 ? 'PASS' : 'FAIL',
        detail: `${fmt(ws.peakRssMb, 1)} MB` + (fr.workload.heldAtEnd ? ` with ${fr.workload.heldAtEnd} connections held at the end` : ''),
      });
    }
  }
  const one = results.find((r) => r.workload.name === 'generated-1x');
  const long = results.find((r) => r.workload.name.startsWith('generated-') && r.workload.name !== 'generated-1x');
  const ws1 = one && of(one, 'wirestate');
  const wsN = long && of(long, 'wirestate');
  if (ok(ws1) && ok(wsN)) {
    const growth = wsN.peakRssMb / ws1.peakRssMb;
    targets.push({
      name: 'RSS flat (at most 1.25x) on the longer file',
      status: growth <= 1.25 ? 'PASS' : 'FAIL',
      detail: `${long!.workload.name} ${fmt(wsN.peakRssMb, 1)} MB vs generated-1x ${fmt(ws1.peakRssMb, 1)} MB = ${fmt(growth, 2)}x`,
    });
  } else targets.push({ name: 'RSS flat (at most 1.25x) on the longer file', status: 'N/A', detail: 'needs wirestate runs on both generated files' });
  return targets;
}

function toolVersion(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return undefined;
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  return text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /\d+\.\d+/.test(l));
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  fs.mkdirSync(o.workDir, { recursive: true });
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    tcptrace: toolVersion('tcptrace', ['-v']),
    tshark: toolVersion('tshark', ['--version']),
    rss: hasGnuTime() ? 'GNU time %M' : '/proc VmHWM polling (install the Debian package "time" for exact figures)',
    loadBefore: os.loadavg()[0],
    loadAfter: NaN,
  };
  const workloads: Workload[] = [generate(o, 'generated-1x', 1)];
  if (!o.skipScaled) workloads.push(generate(o, `generated-${o.scale}x`, o.scale));
  if (!o.skipProxy) workloads.push(generate(o, 'busy-proxy', 1, 'busy-proxy'));
  const notes: string[] = [];
  if (!o.skipReal) {
    const real = realCapture(o);
    if (typeof real === 'string') notes.push(real);
    else workloads.push(real);
  }
  for (const n of notes) log(n);
  const results: FileResult[] = [];
  for (const w of workloads) {
    const tools = TOOLS.filter((t) => o.tools.includes(t) && (t !== 'wirestate-no-http' || w.name === 'generated-1x'));
    const fr: FileResult = { workload: w, tools: await benchTools(o, tools, w) };
    if (o.stageRuns > 0 && o.tools.includes('wirestate')) {
      log(`${w.name}: per-stage breakdown (${o.stageRuns} run${o.stageRuns > 1 ? 's' : ''}) ...`);
      const st = stagesOf(o, w);
      if (typeof st === 'string') fr.stagesError = st;
      else fr.stages = st;
    }
    results.push(fr);
  }
  let live: LiveLossResult | string = 'skipped (--no-live)';
  if (!o.skipLive) {
    const why = liveLossUnavailable();
    if (why) live = `skipped (${why})`;
    else {
      log('live capture at rising packet rates (bench/live-loss.ts) ...');
      live = await runLiveLoss({ rates: [10_000, 25_000, 50_000, 100_000, 100_000, 100_000, 150_000], seconds: 3, workDir: o.workDir, log }).catch(
        (e: unknown) => `failed: ${(e as Error).message}`,
      );
    }
  }
  machine.loadAfter = os.loadavg()[0];
  const targets = checkTargets(results);
  if (o.json) {
    process.stdout.write(JSON.stringify({ machine, runs: o.runs, notes, results, targets, live }, null, 2) + '\n');
  } else {
    const out: string[] = [];
    out.push(
      `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memGiB} GiB, node ${machine.node}; ` +
        `median of ${o.runs} runs, the tools taking turns; peak RSS by ${machine.rss}`,
    );
    out.push(
      `load average (1 min) ${machine.loadBefore.toFixed(2)} before, ${machine.loadAfter.toFixed(2)} after` +
        (Math.max(machine.loadBefore, machine.loadAfter) > 0.5 * machine.cpus ? ': the machine was busy, wall times are noisy (compare cpu s)' : ''),
    );
    if (machine.tcptrace) out.push(`tcptrace: ${machine.tcptrace}`);
    if (machine.tshark) out.push(`tshark: ${machine.tshark}`);
    for (const n of notes) out.push(`note: ${n}`);
    for (const fr of results) out.push('', renderFile(fr));
    out.push('', 'targets (issue 13, every workload; issue 11 on generated-1x):');
    for (const t of targets) out.push(`  ${t.status.padEnd(4)}  ${t.name}: ${t.detail}`);
    if (typeof live === 'string') out.push(`  live capture: ${live}`);
    else out.push(`  ${liveLossLine(live)}`, '', liveLossTable(live));
    process.stdout.write(out.join('\n') + '\n');
  }
  if (o.strict && targets.some((t) => t.status !== 'PASS')) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exitCode = 2;
});
