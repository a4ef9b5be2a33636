import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { CliError, action, fileMessage, usageErrors } from './cli-error';
import { openStoreForWriting } from './open-store';
import { addEngineOptions, engineOptions, type EngineFlags } from './engine-options';
import { ingestFiles, IngestAborted, type IngestProgress, type IngestResult } from '../pipeline/ingest-files';
import { formatDuration, formatSpan } from '../report/format-time';
import { oneDirectionLines, readCaptureSight, vantageLine } from '../report/capture-sight';
import { lossText } from '../report/capture-loss';
import { linktypeName } from '../decode/linktypes';
import type { FlowStore } from '../store/flow-store';

export interface IngestFlags extends EngineFlags {
  db: string;
  quiet?: boolean;
  progress?: boolean;
}

export interface IngestOutcome {
  result: IngestResult;
  /** 0 = fine (warnings allowed), 1 = some input unusable or fatally damaged. */
  exitCode: number;
  /** Captures holding the inputs (new or earlier), for analyze's report. */
  captureIds: number[];
}

function mb(bytes: number): string {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

function progressPrinter(stream: NodeJS.WriteStream) {
  let last = 0;
  let shown = false;
  const t0 = Date.now();
  return {
    update(p: IngestProgress): void {
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      const secs = Math.max(0.001, (now - t0) / 1000);
      const pct = p.totalBytes ? ` ${Math.min(100, Math.floor((p.bytesRead / p.totalBytes) * 100))}%` : '';
      const file = p.fileCount > 1 ? `${path.basename(p.file)} [${p.fileIndex + 1}/${p.fileCount}]` : path.basename(p.file);
      const line = `ingest ${file}${pct} ${mb(p.bytesBefore + p.bytesRead)}, ${num(p.packets)} packets (${num(Math.round(p.packets / secs))}/s), ${num(p.flows)} flows`;
      if (stream.isTTY) {
        const width = stream.columns || 80;
        stream.write(`\r${line.slice(0, width - 1).padEnd(width - 1)}`);
      } else {
        stream.write(`${line}\n`);
      }
      shown = true;
    },
    done(): void {
      if (shown && stream.isTTY) stream.write(`\r${' '.repeat((stream.columns || 80) - 1)}\r`);
    },
  };
}

/**
 * Packets that gave no flow, and why: "120 packets skipped, link type 147
 * (USER0) is not supported", "12 packets skipped (8 not IP, 4 IP but not
 * TCP)". Empty when every packet was TCP. Fragments of a TCP datagram other
 * than the one completing it count as "IP but not TCP" in the decoder, so
 * when there were fragments the text says so.
 */
export function skippedText(r: Pick<IngestResult, 'skipped' | 'packets' | 'tcpPackets'>): string {
  const s = r.skipped;
  const parts: string[] = [];
  if (s.linktype > 0) {
    const names = s.linktypes.map((l) => `${l} (${linktypeName(l)})`).join(', ');
    parts.push(`link type${s.linktypes.length === 1 ? '' : 's'} ${names} ${s.linktypes.length === 1 ? 'is' : 'are'} not supported`);
  }
  if (s.nonIp > 0) parts.push(`${num(s.nonIp)} not IP`);
  if (s.nonTcp > 0) parts.push(`${num(s.nonTcp)} IP but not TCP${s.fragments > 0 ? ' (or fragments of a TCP datagram)' : ''}`);
  if (s.malformed > 0) parts.push(`${num(s.malformed)} with a broken header`);
  const total = s.linktype + s.nonIp + s.nonTcp + s.malformed;
  if (total === 0) return '';
  const head = `${num(total)} packet${total === 1 ? '' : 's'} skipped`;
  // One reason that is the link type: "N packets skipped, link type X is not supported".
  if (parts.length === 1 && s.linktype > 0) return `${head}, ${parts[0]}`;
  return `${head} (${parts.join(', ')})`;
}

/**
 * Where the SQLite writes run: a worker thread (they overlap reading and TCP
 * tracking) when there is a second CPU, else this thread. WIRESTATE_WRITER
 * = inline | worker overrides.
 */
function writerThread(db: string): 'inline' | 'worker' {
  // ':memory:', '' (a private temporary database) and URIs: only this connection would see what a second one wrote.
  if (db === ':memory:' || db === '' || db.startsWith('file:')) return 'inline';
  const env = process.env.WIRESTATE_WRITER;
  if (env === 'inline' || env === 'worker') return env;
  return os.availableParallelism() >= 2 ? 'worker' : 'inline';
}

/**
 * Ingest files into an open store, printing progress and a summary on stderr.
 * `sight`: also print what the capture could see and its vantage point
 * (analyze leaves them to the report's header, which states them).
 */
export async function runIngest(store: FlowStore, files: string[], flags: IngestFlags, sight = true): Promise<IngestOutcome> {
  const err = process.stderr;
  const engine = engineOptions(flags);
  const showProgress = !flags.quiet && (flags.progress === true || err.isTTY === true);
  const progress = showProgress ? progressPrinter(err) : null;
  const ctl = new AbortController();
  const onSigint = () => ctl.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  let result: IngestResult;
  try {
    result = await ingestFiles(store, files, {
      ...engine,
      signal: ctl.signal,
      onProgress: progress ? (p) => progress.update(p) : undefined,
      writer: writerThread(flags.db),
    });
  } catch (e) {
    if (e instanceof IngestAborted) throw new CliError(`${files.join(', ')}: interrupted; ingest rolled back, ${flags.db} is unchanged`, 130);
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || /database is locked/.test((e as Error).message)) {
      throw new CliError(`${flags.db}: database is busy (another process is writing to it, e.g. wirestate live); nothing was added, try again later`, 1);
    }
    throw e;
  } finally {
    progress?.done();
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigint);
  }
  let exitCode = 0;
  const captureIds = new Set<number>();
  for (const f of result.files) {
    if (f.captureId !== null) captureIds.add(f.captureId);
    if (f.status === 'unusable') {
      exitCode = 1;
      err.write(`wirestate: ${fileMessage(f.message ?? f.path)}\n`);
    } else if (f.status === 'ingested' && f.message) {
      if (f.fatal) exitCode = 1;
      err.write(`wirestate: ${f.fatal ? 'error' : 'warning'}: ${f.message} (${f.fatal ? 'reading stopped there; ' : ''}everything before it was stored)\n`);
    } else if (f.status === 'duplicate' && !flags.quiet) {
      // "x.pcap: already ingested as capture 3 (x.pcap)": the earlier path only when it differs.
      const msg = (f.message ?? '').endsWith(` (${f.path})`) ? (f.message ?? '').slice(0, -(f.path.length + 3)) : f.message;
      const db = flags.db === 'wirestate.db' ? '' : ` --db ${flags.db}`;
      err.write(`wirestate: ${msg}; nothing added${f.captureId !== null ? ` (see it: wirestate report --capture ${f.captureId}${db})` : ''}\n`);
    }
  }
  for (const w of result.warnings) err.write(`wirestate: warning: ${w}\n`);
  if (!flags.quiet && result.captureId !== null) {
    const span =
      result.firstTsUs !== null && result.lastTsUs !== null
        ? `, ${formatSpan(result.firstTsUs / 1e6, result.lastTsUs / 1e6)} (${formatDuration((result.lastTsUs - result.firstTsUs) / 1e6)})`
        : '';
    const n = result.files.filter((f) => f.status === 'ingested').length;
    const skipped = skippedText(result);
    err.write(
      `ingested capture ${result.captureId} into ${flags.db}: ${n === 1 ? '1 file' : `${n} files`}, ${num(result.packets)} packets (${num(result.tcpPackets)} TCP), ` +
        `${num(result.flows)} flow${result.flows === 1 ? '' : 's'}${skipped ? `: ${skipped}` : ''}${span}${result.truncated ? ', TRUNCATED' : ''}` +
        `${result.tcpPackets > 0 ? `, capture loss ${lossText(result.loss)}` : ''}; ${mb(result.bytes)} in ${(result.elapsedMs / 1000).toFixed(2)} s\n`,
    );
    // What the capture could see (one direction only?) and where it was taken.
    if (sight && result.flows > 0) {
      const seen = readCaptureSight(store.db, result.captureId);
      for (const line of [...oneDirectionLines(seen), vantageLine(seen)]) err.write(`  ${line}\n`);
    }
  }
  if (result.captureId === null && result.files.every((f) => f.status === 'unusable')) exitCode = 1;
  return { result, exitCode, captureIds: [...captureIds] };
}

export function registerIngest(program: Command): void {
  addEngineOptions(usageErrors(program.command('ingest')))
    .description('read capture files into the flow database (several files = one continuous capture)')
    .argument('<files...>', "pcap / pcapng files, optionally gzipped ('-' = standard input)")
    .option('--db <path>', 'database file (created if missing)', 'wirestate.db')
    .option('-q, --quiet', 'no progress, no summary (errors and damage warnings still shown)')
    .option('--progress', 'show progress even when stderr is not a terminal (one line per update)')
    .action(
      action(async (files: string[], flags: IngestFlags) => {
        if (files.length === 0) throw new CliError('ingest needs at least one file', 2);
        const store = openStoreForWriting(flags.db);
        try {
          const { exitCode } = await runIngest(store, files, flags);
          return exitCode;
        } finally {
          store.close();
        }
      }),
    );
}
