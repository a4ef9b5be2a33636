import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { generateTraffic } from './generate-traffic';
import { which } from './measure-command';

/**
 * The live-capture part of `npm run bench` (issue 13: "live capture keeps
 * up"). Two network namespaces joined by a veth pair; in one, tcpreplay
 * sends a generated capture of TCP connections with payload (bench's own
 * generator, full packets up to 1514 bytes) at a fixed packet rate; in the
 * other, `tcpdump -w` and `wirestate live` capture on the same veth at the
 * same time. Each rate step replays rate x seconds packets; the step is
 * loss-free when wirestate's capture row counts every TCP packet of
 * tcpdump's file (as `wirestate ingest` of that file counts them: the
 * replayed traffic, not the link's own IPv6 chatter that tcpdump, started
 * first, sees more of) and the kernel reported no drops. The same steps are also run with
 * a bare consumer of the `cap` addon (a handler that only counts, no
 * decoding, no database) to show where cap itself is the limit.
 *
 * Needs root (ip netns), the cap addon, tcpdump and tcpreplay; otherwise it
 * says why and is skipped. `node dist/bench/live-loss.js [--rates 10000,50000]
 * [--seconds 3] [--json]` runs it alone; `--bare DEVICE` is the bare
 * consumer (run by the bench inside the namespace).
 */

export interface LiveLossOptions {
  /** Packet rates to step through, ascending. */
  rates: number[];
  /** Seconds of traffic per step. */
  seconds: number;
  workDir: string;
  /** Extra arguments of `wirestate live` (e.g. ['-B', '32768']). */
  liveArgs?: string[];
  /** Also run the bare cap consumer at each rate (default true). */
  bare?: boolean;
  log?: (msg: string) => void;
}

export interface LiveStep {
  rate: number;
  /** Packets per second tcpreplay says it reached. */
  sentPps: number;
  sent: number;
  /** Packets in tcpdump's file, and those tcpdump said the kernel dropped for it. */
  tcpdump: number;
  tcpdumpDropped: number;
  /** TCP packets in tcpdump's file (as `wirestate ingest` counts them): the replayed traffic, without the link's own chatter. */
  tcpdumpTcp: number;
  /** Packets in wirestate's capture row, its TCP packets, and its drops column (null: unknown). */
  wirestate: number;
  wirestateTcp: number;
  drops: number | null;
  /** Flows and close kinds: wirestate live against `wirestate ingest` of tcpdump's file. */
  liveFlows: number;
  fileFlows: number;
  closeKindsDiffer: number;
  longestFlushMs: number | null;
  /** The bare cap consumer at the same rate: packets it counted, and the kernel's drops for it. */
  bare?: { packets: number; drops: number | null; tcpdump: number };
  lossFree: boolean;
}

export interface LiveLossResult {
  steps: LiveStep[];
  /** Highest rate at which every step, and every step at a lower rate, was loss-free (0: none; lossFreeUpTo). */
  lossFreePps: number;
  /** The same for the bare cap consumer (undefined when not run). */
  bareLossFreePps?: number;
  liveArgs: string[];
}

const outDir = path.resolve(__dirname, '..');
const cliPath = path.join(outDir, 'src', 'cli', 'main.js');
const selfPath = path.join(outDir, 'bench', 'live-loss.js');

/** Why the live bench cannot run here, or null. */
export function liveLossUnavailable(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (network namespaces)';
  try {
    require('cap');
  } catch {
    return "needs the optional 'cap' addon (apt-get install libpcap-dev; npm rebuild cap)";
  }
  for (const tool of ['ip', 'tcpdump', 'tcpreplay']) {
    if (!which(tool)) return `needs ${tool} (Debian: apt-get install ${tool === 'ip' ? 'iproute2' : tool})`;
  }
  if (!fs.existsSync(cliPath)) return `${cliPath} not built`;
  return null;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout;
}

/** Two namespaces joined by a veth pair, removed by cleanup(). */
class VethNamespaces {
  readonly send: string;
  readonly capture: string;
  readonly sendIf: string;
  readonly captureIf: string;
  constructor() {
    const tag = String(process.pid % 100000);
    this.send = `wsb-live-s${tag}`;
    this.capture = `wsb-live-c${tag}`;
    this.sendIf = `wsbls${tag}`;
    this.captureIf = `wsblc${tag}`;
    this.cleanup();
    sh('ip', ['netns', 'add', this.send]);
    sh('ip', ['netns', 'add', this.capture]);
    sh('ip', ['link', 'add', this.sendIf, 'netns', this.send, 'type', 'veth', 'peer', 'name', this.captureIf, 'netns', this.capture]);
    for (const [ns, dev] of [[this.send, this.sendIf], [this.capture, this.captureIf]]) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
  }
  cleanup(): void {
    for (const ns of [this.send, this.capture]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, out: '', err: '', exited: Promise.resolve(null) };
  child.stdout?.on('data', (d: Buffer) => (p.out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (p.err += d.toString()));
  p.exited = new Promise((res) => child.on('close', (code) => res(code)));
  return p;
}

async function waitFor(p: Proc, re: RegExp, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(p.out + p.err)) {
    if (p.child.exitCode !== null || Date.now() > end) throw new Error(`did not print ${re}: ${(p.out + p.err).trim().slice(-300)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Packets in a pcap file, by walking its record headers. */
function pcapPackets(file: string): number {
  const buf = fs.readFileSync(file);
  if (buf.length < 24) return 0;
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4 || buf.readUInt32LE(0) === 0xa1b23c4d;
  let n = 0;
  for (let off = 24; off + 16 <= buf.length; n++) off += 16 + (le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8));
  return n;
}

interface DbCounts {
  packets: number;
  tcpPackets: number;
  drops: number | null;
  flows: number;
  kinds: Map<string, number>;
}

function dbCounts(db: string): DbCounts {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const c = conn.prepare('SELECT packets, tcp_packets, drops FROM captures ORDER BY id DESC LIMIT 1').get() as {
      packets: number;
      tcp_packets: number;
      drops: number | null;
    };
    const kinds = new Map<string, number>();
    let flows = 0;
    for (const r of conn.prepare('SELECT close_kind AS k, count(*) AS n FROM flows GROUP BY close_kind').all() as { k: string; n: number }[]) {
      kinds.set(r.k, r.n);
      flows += r.n;
    }
    return { packets: c.packets, tcpPackets: c.tcp_packets, drops: c.drops, flows, kinds };
  } finally {
    conn.close();
  }
}

function kindsDiffer(a: Map<string, number>, b: Map<string, number>): number {
  let d = 0;
  for (const k of new Set([...a.keys(), ...b.keys()])) d += Math.abs((a.get(k) ?? 0) - (b.get(k) ?? 0));
  return d;
}

function removeDb(db: string): void {
  for (const s of ['', '-wal', '-shm', '-journal']) fs.rmSync(db + s, { force: true });
}

/** tcpreplay at `rate` for `count` packets from the sending namespace; the rate it reached. */
async function replay(ns: VethNamespaces, file: string, rate: number, count: number): Promise<{ sent: number; pps: number }> {
  const p = start('ip', ['netns', 'exec', ns.send, 'tcpreplay', '-q', '-i', ns.sendIf, `--pps=${rate}`, `--limit=${count}`, file]);
  await p.exited;
  const text = p.out + p.err;
  const sent = Number(/Actual: (\d+) packets/.exec(text)?.[1] ?? NaN);
  const pps = Number(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(text)?.[1] ?? NaN);
  if (!Number.isFinite(sent)) throw new Error(`tcpreplay: ${text.trim().slice(-300)}`);
  return { sent, pps };
}

/** tcpdump -w on the capture side (its own 64 MiB buffer, so that the reference is not the one that loses). */
async function startTcpdump(ns: VethNamespaces, file: string): Promise<Proc> {
  const td = start('ip', ['netns', 'exec', ns.capture, 'tcpdump', '-i', ns.captureIf, '-B', '65536', '-s', '65535', '-w', file]);
  await waitFor(td, /listening on/, 10000);
  return td;
}

async function stopTcpdump(td: Proc): Promise<number> {
  td.child.kill('SIGINT');
  await td.exited;
  return Number(/(\d+) packets dropped by kernel/.exec(td.err)?.[1] ?? 0);
}

async function liveStep(o: LiveLossOptions, ns: VethNamespaces, file: string, rate: number): Promise<Omit<LiveStep, 'bare' | 'lossFree'>> {
  const count = Math.round(rate * o.seconds);
  const ref = path.join(o.workDir, 'live-tcpdump.pcap');
  const db = path.join(o.workDir, 'live.db');
  const fileDb = path.join(o.workDir, 'live-file.db');
  removeDb(db);
  removeDb(fileDb);
  const td = await startTcpdump(ns, ref);
  const live = start('ip', ['netns', 'exec', ns.capture, process.execPath, cliPath, 'live', '-i', ns.captureIf, '--db', db, ...(o.liveArgs ?? [])]);
  try {
    await waitFor(live, /capturing on/, 60000);
    const sent = await replay(ns, file, rate, count);
    await sleep(1000);
    live.child.kill('SIGINT');
    const code = await live.exited;
    if (code !== 0) throw new Error(`wirestate live exited ${code}: ${live.err.trim().slice(-300)}`);
    const tcpdumpDropped = await stopTcpdump(td);
    const tcpdump = pcapPackets(ref);
    const ing = spawnSync(process.execPath, [cliPath, 'ingest', ref, '--db', fileDb, '--quiet'], { encoding: 'utf8' });
    if (ing.status !== 0) throw new Error(`wirestate ingest of tcpdump's file: ${ing.stderr.trim()}`);
    const l = dbCounts(db);
    const f = dbCounts(fileDb);
    const pause = /longest flush pause (\d+) ms/.exec(live.out)?.[1];
    return {
      rate,
      sentPps: sent.pps,
      sent: sent.sent,
      tcpdump,
      tcpdumpDropped,
      tcpdumpTcp: f.tcpPackets,
      wirestate: l.packets,
      wirestateTcp: l.tcpPackets,
      drops: l.drops,
      liveFlows: l.flows,
      fileFlows: f.flows,
      closeKindsDiffer: kindsDiffer(l.kinds, f.kinds),
      longestFlushMs: pause === undefined ? null : Number(pause),
    };
  } finally {
    if (live.child.exitCode === null) live.child.kill('SIGKILL');
    if (td.child.exitCode === null) td.child.kill('SIGKILL');
    removeDb(db);
    removeDb(fileDb);
    fs.rmSync(ref, { force: true });
  }
}

async function bareStep(o: LiveLossOptions, ns: VethNamespaces, file: string, rate: number): Promise<NonNullable<LiveStep['bare']>> {
  const ref = path.join(o.workDir, 'live-tcpdump.pcap');
  const td = await startTcpdump(ns, ref);
  const bare = start('ip', ['netns', 'exec', ns.capture, process.execPath, selfPath, '--bare', ns.captureIf]);
  try {
    await waitFor(bare, /^capturing/m, 60000);
    await replay(ns, file, rate, Math.round(rate * o.seconds));
    await sleep(1000);
    bare.child.kill('SIGINT');
    await bare.exited;
    await stopTcpdump(td);
    const m = /^bare: (\d+) packets, drops (\d+|null)/m.exec(bare.out);
    if (!m) throw new Error(`bare consumer: ${(bare.out + bare.err).trim().slice(-300)}`);
    return { packets: Number(m[1]), drops: m[2] === 'null' ? null : Number(m[2]), tcpdump: pcapPackets(ref) };
  } finally {
    if (bare.child.exitCode === null) bare.child.kill('SIGKILL');
    if (td.child.exitCode === null) td.child.kill('SIGKILL');
    fs.rmSync(ref, { force: true });
  }
}

/**
 * The highest rate at which every step, and every step at a lower rate, was
 * loss-free: a rate tried more than once counts only if it never lost.
 */
export function lossFreeUpTo<T extends { rate: number }>(steps: readonly T[], ok: (s: T) => boolean): number {
  const failedAt = Math.min(...steps.filter((s) => !ok(s)).map((s) => s.rate));
  let best = 0;
  for (const s of steps) if (s.rate < failedAt && s.rate > best) best = s.rate;
  return best;
}

/** Run every rate step; throws on a setup failure (the caller prints it as a note). */
export async function runLiveLoss(o: LiveLossOptions): Promise<LiveLossResult> {
  const log = o.log ?? (() => {});
  fs.mkdirSync(o.workDir, { recursive: true });
  const maxPackets = Math.round(Math.max(...o.rates) * o.seconds);
  const file = path.join(o.workDir, 'live-replay.pcap');
  // ~17.6 packets per connection in the mixed profile; full packets (snaplen 1514), so the wire carries their payload.
  const g = generateTraffic({ out: file, connections: Math.ceil(maxPackets / 17) + 100, snaplen: 1514, tailS: 1, seed: 1 });
  log(`live: replay file ${path.basename(file)}: ${g.packets} packets, ${g.connections} connections`);
  const ns = new VethNamespaces();
  const steps: LiveStep[] = [];
  try {
    for (const rate of o.rates) {
      const s = await liveStep(o, ns, file, rate);
      const step: LiveStep = { ...s, lossFree: s.drops === 0 && s.wirestateTcp >= s.tcpdumpTcp };
      if (o.bare !== false) step.bare = await bareStep(o, ns, file, rate);
      steps.push(step);
      log(
        `live ${rate} pkt/s (sent ${s.sentPps.toFixed(0)}/s): tcpdump ${s.tcpdump} (${s.tcpdumpTcp} TCP; kernel dropped ${s.tcpdumpDropped}), ` +
          `wirestate ${s.wirestate} (${s.wirestateTcp} TCP), drops ${s.drops ?? 'unknown'}, flows ${s.liveFlows} vs ${s.fileFlows} from tcpdump's file, ` +
          `close kinds differ by ${s.closeKindsDiffer}, longest flush pause ${s.longestFlushMs ?? '?'} ms` +
          (step.bare ? `; bare cap ${step.bare.packets} of ${step.bare.tcpdump}, drops ${step.bare.drops ?? 'unknown'}` : ''),
      );
    }
  } finally {
    ns.cleanup();
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.summary.json`, { force: true });
  }
  const result: LiveLossResult = { steps, lossFreePps: lossFreeUpTo(steps, (s) => s.lossFree), liveArgs: o.liveArgs ?? [] };
  // The bare consumer counts every packet (no TCP count): loss-free when it got all tcpreplay sent and the kernel dropped none.
  if (o.bare !== false) result.bareLossFreePps = lossFreeUpTo(steps, (s) => !!s.bare && s.bare.drops === 0 && s.bare.packets >= s.sent);
  return result;
}

function k(n: number): string {
  return n >= 1000 ? `${Math.round(n / 1000)}k` : String(n);
}

/** The bench's one line: "live capture: loss-free up to N pkt/s ..." */
export function liveLossLine(r: LiveLossResult): string {
  const first = [...r.steps].sort((a, b) => a.rate - b.rate).find((s) => !s.lossFree);
  const at = first
    ? `; at ${k(first.rate)} pkt/s it saw ${first.wirestateTcp} of ${first.tcpdumpTcp} TCP packets (${first.drops ?? 'unknown'} dropped by the kernel, capture ring full; longest flush pause ${first.longestFlushMs ?? '?'} ms)`
    : '; no step lost a packet';
  const bare =
    r.bareLossFreePps === undefined
      ? ''
      : `; cap alone (no decoding, no database): loss-free up to ${k(r.bareLossFreePps)} pkt/s`;
  const target = r.lossFreePps >= 100_000 ? 'PASS' : 'FAIL';
  const rates = r.steps.map((s) => s.rate);
  const upTo = r.lossFreePps > 0 ? `loss-free up to ${k(r.lossFreePps)} pkt/s` : `lost packets at every rate tried (${rates.map(k).join(', ')} pkt/s)`;
  return `live capture: ${upTo} (target 100k: ${target})${at}${bare}`;
}

/** Table of the steps, for the bench's output. */
export function liveLossTable(r: LiveLossResult): string {
  const rows = [['pkt/s', 'sent/s', 'tcpdump TCP', 'wirestate TCP', 'drops', 'flows live/file', 'kinds differ', 'flush ms', 'bare cap (drops)']];
  for (const s of r.steps) {
    rows.push([
      k(s.rate),
      s.sentPps.toFixed(0),
      String(s.tcpdumpTcp),
      String(s.wirestateTcp),
      String(s.drops ?? '?'),
      `${s.liveFlows}/${s.fileFlows}`,
      String(s.closeKindsDiffer),
      String(s.longestFlushMs ?? '?'),
      s.bare ? `${s.bare.packets}/${s.bare.tcpdump} (${s.bare.drops ?? '?'})` : '',
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => cell.padStart(widths[c])).join('  ')).join('\n');
}

/** The bare consumer: count what cap hands over until SIGINT, then print the count and the kernel's drops. */
function bare(device: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LiveCapture } = require('../src/source/live-capture') as typeof import('../src/source/live-capture');
  let n = 0;
  const cap = LiveCapture.open({ device, filter: '', snaplen: 65535 }, () => {
    n++;
  });
  process.stdout.write('capturing\n');
  process.on('SIGINT', () => {
    cap.close();
    void cap.statsSettled().then(() => {
      process.stdout.write(`bare: ${n} packets, drops ${cap.stats().dropped}\n`);
      process.exit(0);
    });
  });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--bare') bare(argv[1]);
  else {
    const rates = (argv.includes('--rates') ? argv[argv.indexOf('--rates') + 1] : '10000,25000,50000,100000,150000').split(',').map(Number);
    const seconds = argv.includes('--seconds') ? Number(argv[argv.indexOf('--seconds') + 1]) : 3;
    const liveArgs = argv.includes('--live-args') ? argv[argv.indexOf('--live-args') + 1].split(' ').filter(Boolean) : [];
    const why = liveLossUnavailable();
    if (why) {
      process.stdout.write(`live capture: skipped (${why})\n`);
    } else {
      runLiveLoss({
        rates,
        seconds,
        liveArgs,
        bare: !argv.includes('--no-bare'),
        workDir: path.resolve(outDir, '..', 'bench', 'work'),
        log: (m) => process.stderr.write(`[bench] ${m}\n`),
      })
        .then((r) => {
          if (argv.includes('--json')) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
          else process.stdout.write(`${liveLossTable(r)}\n${liveLossLine(r)}\n`);
        })
        .catch((e: unknown) => {
          process.stderr.write(`live-loss: ${(e as Error).message}\n`);
          process.exitCode = 1;
        });
    }
  }
}
