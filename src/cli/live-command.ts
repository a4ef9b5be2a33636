import { Command } from 'commander';
import { CliError, action, usageErrors } from './cli-error';
import { addEngineOptions, engineOptions, type EngineFlags } from './engine-options';
import { LiveCaptureError } from '../source/live-capture';
import { defaultDevice, listNetworkDevices } from '../host/network-devices';
import { LivePipeline, type LiveStatus, type LiveSummary } from '../pipeline/live-pipeline';
import { LIVE_CHILD_ENV, STOP_SIGNALS_READY, runSupervised } from '../pipeline/live-supervisor';
import { startLiveExport, exportStatusText, type LiveExport } from './live-export';
import { lossPercent, lossText } from '../report/capture-loss';

interface LiveOptions extends EngineFlags {
  interface?: string;
  db: string;
  duration?: string;
  count?: string;
  snaplen: string;
  bufferSize: string;
  flushEvery: string;
  write?: string;
  quiet?: boolean;
  owners: boolean;
  export?: string;
  hostLabel?: string;
  exportWait: string;
}

const LINKTYPE_NAMES: Record<number, string> = { 0: 'NULL', 1: 'EN10MB', 101: 'RAW', 113: 'LINUX_SLL', 127: 'IEEE802_11_RADIO', 276: 'LINUX_SLL2' };

function number(name: string, value: string | undefined, min: number, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new CliError(`${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got '${value}'`, 2);
  }
  return n;
}

/**
 * Drops as libpcap counts them; where the installed `cap` cannot say, the
 * capture-loss estimate of the last flush interval (acknowledged bytes never
 * seen), e.g. "loss~0.42%", "loss~n/a" before anything was acknowledged.
 */
function dropsText(s: LiveStatus): string {
  if (s.drops !== null) return `drops ${s.drops}${s.trackerDrops > 0 ? ` (+${s.trackerDrops} not tracked)` : ''}`;
  const pct = lossPercent(s.flushLoss);
  return `loss~${pct === null ? 'n/a' : `${pct.toFixed(pct >= 10 ? 1 : 2)}%`}`;
}

/** The one-line status shown on a terminal. */
export function statusLine(s: LiveStatus, elapsedS: number, exportText = ''): string {
  return (
    `${elapsedS.toFixed(0)}s  packets ${s.packets} (tcp ${s.tcpPackets})  active flows ${s.activeFlows}` +
    `  CLOSE_WAIT now ${s.closeWaitEndpoints}  ${dropsText(s)}${exportText ? `  ${exportText}` : ''}`
  );
}

/**
 * The summary's line on packets the kernel dropped before wirestate could
 * read them. On loopback the packet socket receives every packet twice (once
 * sent, once received; libpcap keeps one), so the kernel's count is twice
 * the packets: said, so the two numbers do not look like a loss.
 */
export function dropsSummary(s: LiveStatus, device = ''): string {
  if (s.drops === null) {
    return "drops: unknown (the installed 'cap' has no pcap_stats and the packet socket's counters could not be read): compare with the capture loss below";
  }
  const twice = device === 'lo' ? ' (on loopback it passes each packet twice: once sent, once received)' : '';
  const of = s.kernelReceived !== null ? ` of ${s.kernelReceived} packets the kernel passed to the capture${twice}` : '';
  if (s.drops === 0) return `drops: 0${of}`;
  const pct = s.kernelReceived ? ` (${((100 * s.drops) / s.kernelReceived).toFixed(s.drops * 1000 < s.kernelReceived ? 3 : 1)}%)` : '';
  return (
    `drops: ${s.drops}${of}${pct} DROPPED by the kernel, the capture buffer being full: ` +
    `flows that lost a SYN, FIN or RST may show the wrong state; raise -B/--buffer-size or narrow the filter`
  );
}

export function summaryText(s: LiveSummary, dbPath: string): string {
  const secs = ((s.endTsUs - s.startedTsUs) / 1e6).toFixed(1);
  const lines = [
    `capture ${s.captureId} on ${s.device} stopped (${s.reason}) after ${secs}s: ${s.packets} packets (${s.tcpPackets} TCP, ${s.bytes} bytes)`,
    `flows: ${s.totalFlows} seen, ${s.flowsWithOwners} with a local process attributed; endpoints in CLOSE_WAIT at stop: ${s.closeWaitEndpoints}`,
    `${dropsSummary(s, s.device)}; longest flush pause ${s.longestFlushMs.toFixed(0)} ms`,
    ...(s.trackerDrops > 0
      ? [`not tracked: ${s.trackerDrops} packets were captured but not decoded, the tracker thread being too far behind (its packet ring was full): flows that lost a SYN, FIN or RST may show the wrong state`]
      : []),
    `capture loss: ${lossText(s.loss)}`,
  ];
  if (s.pcapPackets > 0) lines.push(`pcap: ${s.pcapPackets} packets written`);
  lines.push(`database: ${dbPath}  (try: wirestate report --db ${dbPath})`);
  return lines.join('\n') + '\n';
}

/** Signals that stop a live capture cleanly; SIGHUP is the terminal or ssh session going away. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The capturing process's stop signals, installed before the capture row is
 * created so that a signal during start-up (opening the device and the
 * database, reading socket owners) is never the default "die at once":
 * the first one stops the capture as soon as it is running.
 */
class StopSignals {
  private installed = false;
  private signal: NodeJS.Signals | null = null;
  private onStop: (() => void) | null = null;
  private readonly handler = (sig: NodeJS.Signals) => {
    // On a terminal a signal reaches both this process and its supervisor, which forwards it: act once.
    if (this.signal !== null) return;
    this.signal = sig;
    this.onStop?.();
  };

  install(): void {
    if (this.installed) return;
    this.installed = true;
    for (const sig of STOP_SIGNALS) process.on(sig, this.handler);
  }

  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    for (const sig of STOP_SIGNALS) process.off(sig, this.handler);
    this.onStop = null;
  }

  /** Run `fn` on the first stop signal; at once if one came already. */
  whenStopped(fn: () => void): void {
    this.onStop = fn;
    if (this.signal !== null) fn();
  }
}

const stopSignals = new StopSignals();

function toCliError(err: unknown): unknown {
  if (err instanceof LiveCaptureError) {
    const usage = err.code === 'bad_filter' || err.code === 'no_such_device' || err.code === 'cap_missing' || err.code === 'no_default_device';
    return new CliError(err.message, usage ? 2 : 1);
  }
  return err;
}

export function registerLive(program: Command): void {
  // The capturing child: take over the stop signals before anything else runs.
  if (process.env[LIVE_CHILD_ENV] === '1') {
    stopSignals.install();
    // The supervisor holds back stop signals until now (before, one would kill this process outright).
    process.send?.({ [STOP_SIGNALS_READY]: true });
  }
  addEngineOptions(usageErrors(program.command('live')))
    .description('capture live through libpcap and write flows to the database as they happen (query/report work meanwhile)')
    .argument('[filter...]', 'BPF capture filter, as for tcpdump (e.g. tcp port 8080)')
    .option('-i, --interface <name>', 'device to capture on (default: first non-loopback interface that is up; see wirestate interfaces)')
    .option('--db <path>', 'database file', 'wirestate.db')
    .option('--duration <seconds>', 'stop after this many seconds')
    .option('-c, --count <n>', 'stop after this many packets')
    .option('-s, --snaplen <bytes>', 'bytes kept per packet (max 65535)', '65535')
    .option('-B, --buffer-size <KiB>', 'kernel capture buffer, as tcpdump -B (each packet takes a ~64 KiB slot with cap: the default holds ~4,000)', '262144')
    .option('--flush-every <seconds>', 'this often: write the active flows that changed, move the capture end to now, finish flows whose TIME_WAIT/idle time ran out, re-read socket owners', '2')
    .option('-w, --write <file.pcap>', 'also write every captured packet to this pcap file')
    .option('--no-owners', 'do not look up the processes holding local sockets (/proc)')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--export <url>', 'also send flows, live snapshots and transitions to ClickHouse at every flush: clickhouse://HOST:HTTP_PORT/DB (SQLite stays the source of truth)')
    .option('--host-label <name>', 'with --export: the host column of every row (default: this machine\'s hostname)')
    .option('--export-wait <seconds>', 'with --export: at stop, how long to keep retrying what ClickHouse has not taken yet', '15')
    .action(
      action(async (filterWords: string[], opts: LiveOptions) => {
        const duration = number('--duration', opts.duration, 0, false) ?? 0;
        const count = number('--count', opts.count, 1, true) ?? 0;
        const snaplen = number('--snaplen', opts.snaplen, 1, true) as number;
        const bufferKiB = number('--buffer-size', opts.bufferSize, 64, true) as number;
        const flushEvery = number('--flush-every', opts.flushEvery, 0.05, false) as number;
        number('--export-wait', opts.exportWait, 0, false);
        if (snaplen > 65535) throw new CliError(`--snaplen: at most 65535 with the 'cap' libpcap binding, got ${snaplen}`, 2);
        const filter = filterWords.join(' ').trim();
        if (process.env[LIVE_CHILD_ENV] !== '1' && process.env.WIRESTATE_LIVE_INPROCESS !== '1') {
          // Capture in a child process: cap aborts the process on a device error (interface
          // down/removed); the supervisor then still closes the capture row.
          const res = await runSupervised(process.argv[1], process.argv.slice(2), process.execArgv);
          if (res.damage && res.progress) {
            const row = res.rowClosed
              ? `capture ${res.progress.captureId} closed as damaged in ${res.progress.dbPath}, with the flows written up to the last flush`
              : `capture ${res.progress.captureId} is left open in ${res.progress.dbPath}`;
            throw new CliError(`${res.damage}; ${row}`, 1);
          }
          if (res.signal) throw new CliError(`live capture process ended by ${res.signal} before the capture started`, 1);
          return res.code ?? 1;
        }
        process.channel?.unref();
        stopSignals.install();
        try {
          await capture(filter, opts, { snaplen, bufferKiB, flushEvery, count, duration });
        } finally {
          stopSignals.uninstall();
        }
      }),
    );
}

interface CaptureNumbers {
  snaplen: number;
  bufferKiB: number;
  flushEvery: number;
  count: number;
  duration: number;
}

/** The capture itself, in the capturing process (stop signals already installed). */
async function capture(filter: string, opts: LiveOptions, n: CaptureNumbers): Promise<void> {
  const { snaplen, bufferKiB, flushEvery, count, duration } = n;
  const quiet = opts.quiet === true;
  // Checked before capturing: a bad URL, credentials or database are errors now, an unreachable server is waited for.
  const exp: LiveExport | null = opts.export === undefined ? null : await startLiveExport(opts.export, opts.hostLabel, quiet);
  let pipeline: LivePipeline;
  try {
    const device = opts.interface ?? defaultDevice(listNetworkDevices());
    pipeline = LivePipeline.start({
      device,
      filter,
      snaplen,
      bufferSize: bufferKiB * 1024,
      dbPath: opts.db,
      flushEveryMs: flushEvery * 1000,
      ...engineOptions(opts),
      count,
      durationMs: duration * 1000,
      pcapOut: opts.write ?? null,
      resolveOwners: opts.owners,
      onProgress: process.send ? (p) => process.send?.(p) : undefined,
      flushListener: exp?.relay,
    });
  } catch (err) {
    await exp?.abandon();
    throw toCliError(err);
  }
  exp?.attach(opts.db, pipeline.captureId);
  const cap = pipeline.capture;
  if (!quiet) {
    process.stderr.write(
      `wirestate: capturing on ${cap.device}, link-type ${LINKTYPE_NAMES[cap.linktype] ?? cap.linktype}, snaplen ${cap.snaplen}` +
        `${filter ? `, filter '${filter}'` : ''}; flows to ${opts.db} (capture ${pipeline.captureId}); Ctrl-C to stop\n`,
    );
  }
  stopSignals.whenStopped(() => {
    if (!quiet && process.stderr.isTTY) process.stderr.write('\n');
    pipeline.stop('signal');
  });
  let statusTimer: NodeJS.Timeout | null = null;
  const started = Date.now();
  if (!quiet && process.stderr.isTTY) {
    statusTimer = setInterval(() => {
      process.stderr.write(`\r\x1b[K${statusLine(pipeline.status(), (Date.now() - started) / 1000, exp ? exportStatusText(exp.status()) : '')}`);
    }, 1000);
  }
  try {
    const summary = await pipeline.done;
    if (statusTimer) process.stderr.write('\r\x1b[K');
    if (!quiet) process.stdout.write(summaryText(summary, opts.db));
    if (exp) {
      const line = await exp.finish(Number(opts.exportWait) * 1000);
      if (!quiet || !line.complete) (line.complete ? process.stdout : process.stderr).write(line.text + '\n');
    }
  } catch (err) {
    if (statusTimer) process.stderr.write('\r\x1b[K');
    await exp?.abandon();
    if (!pipeline.closedAsDamaged) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(
      `live capture on ${cap.device} failed: ${message}; capture ${pipeline.captureId} closed as damaged in ${opts.db}, with the flows written up to the last flush`,
      1,
    );
  } finally {
    if (statusTimer) clearInterval(statusTimer);
  }
}
