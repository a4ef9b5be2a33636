import os from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { CliError, action, usageErrors } from './cli-error';
import { openStoreForWriting } from './open-store';
import { clickhouseTarget, exportFailure, hostLabel } from './clickhouse-target';
import { ClickHouseSink, exportCapture, exportLags, type ExportLag } from '../export';

interface ExportFlags {
  db: string;
  to?: string;
  capture?: number[];
  hostLabel?: string;
  batchRows?: number;
  status?: boolean;
  format: string;
}

function collectId(v: string, prev: number[] | undefined): number[] {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return [...(prev ?? []), n];
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function lagText(l: ExportLag): string {
  const state = l.complete ? 'complete' : l.lagS === null ? 'nothing sent yet' : `behind by ${l.lagS.toFixed(1)} s of capture, ${l.flowsPending} flows to read again`;
  return `capture ${l.captureId} -> ${l.sink} as ${l.host}: ${state}${l.lastError ? ` (last error: ${l.lastError})` : ''}`;
}

export function registerExport(program: Command): void {
  usageErrors(program.command('export'))
    .description('send captures already in the database to ClickHouse (what is already there is not sent again; see wirestate clickhouse init)')
    .option('--to <url>', 'clickhouse://[USER[:PASSWORD]@]HOST[:HTTP_PORT]/DB')
    .option('--db <path>', 'database file', 'wirestate.db')
    .option('--capture <id>', 'only this capture (repeatable; default: every capture)', collectId)
    .option('--host-label <name>', 'the host column of every row (default: this machine\'s hostname)')
    .option('--batch-rows <n>', 'flows per INSERT', positiveInt)
    .option('--status', 'print how far each capture is behind each sink it was exported to (the export lag), send nothing')
    .option('--format <format>', 'text or json (--status)', 'text')
    .action(
      action(async (opts: ExportFlags) => {
        if (opts.status) return printStatus(opts);
        if (opts.to === undefined) throw new CliError('export: --to URL is required (or --status)', 2);
        const target = clickhouseTarget(opts.to);
        const host = hostLabel(opts.hostLabel, os.hostname());
        const store = openStoreForWriting(opts.db);
        const sink = new ClickHouseSink(target);
        try {
          const ids = opts.capture ?? (store.db.prepare('SELECT id FROM captures ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
          for (const id of ids) if (!store.hasCapture(id)) throw new CliError(`${opts.db}: no capture with id ${id}`, 2);
          if (ids.length === 0) throw new CliError(`${opts.db}: the database holds no capture yet`, 1);
          // One question first: unreachable, authentication and unknown database fail here, before any row is read.
          const version = await sink.version();
          for (const id of ids) {
            const r = await exportCapture(store.db, sink, id, host, { batchRows: opts.batchRows });
            const what = r.alreadyComplete
              ? 'already all sent'
              : `${r.flows} flows, ${r.transitions} transitions sent in ${r.inserts} inserts${r.complete ? '' : ' (capture still running: run again to send the rest)'}`;
            process.stdout.write(`capture ${id} -> ${target.display} as ${host}: ${what}\n`);
          }
          void version;
        } catch (err) {
          throw exportFailure(err);
        } finally {
          await sink.close();
          store.close();
        }
      }),
    );
}

function printStatus(opts: ExportFlags): void {
  const store = openStoreForWriting(opts.db);
  try {
    const lags = exportLags(store.db);
    if (opts.format === 'json') {
      process.stdout.write(JSON.stringify(lags, null, 2) + '\n');
      return;
    }
    if (lags.length === 0) {
      process.stdout.write(`${opts.db}: nothing exported yet\n`);
      return;
    }
    for (const l of lags) process.stdout.write(lagText(l) + '\n');
  } finally {
    store.close();
  }
}
