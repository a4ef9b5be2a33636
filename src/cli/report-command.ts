import { Command, InvalidArgumentError, Option } from 'commander';
import type { Database } from 'better-sqlite3';
import { CliError, action, usageErrors } from './cli-error';
import { openStoreForReading } from './open-store';
import { buildReport } from '../report/model';
import { renderText } from '../report/render-text';
import { addFleetOptions, printFleetReport, type FleetFlags } from './fleet-report-command';
import { renderJson } from '../report/render-json';

export interface ReportFlags {
  db: string;
  format: 'text' | 'json';
  capture?: number;
  warnCount?: number;
  warnAge?: number;
  critAge?: number;
  all?: boolean;
  failOn?: 'warning' | 'critical';
}

function nonNegative(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what} must be a number >= 0`);
    return n;
  };
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** The report flags, shared by `report` and `analyze`. */
export function addReportOptions(cmd: Command, captureDefault = 'the newest'): Command {
  return cmd
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json']).default('text'))
    .option('--capture <id>', `capture to report on (default: ${captureDefault})`, positiveInt)
    .option('--warn-count <n>', 'warning above this many CLOSE_WAIT connections in one group (default 100)', nonNegative('--warn-count'))
    .option('--warn-age <seconds>', 'warning when the oldest CLOSE_WAIT is stuck longer (default 300)', nonNegative('--warn-age'))
    .option('--crit-age <seconds>', 'critical when the oldest CLOSE_WAIT is stuck longer (default 1800)', nonNegative('--crit-age'))
    .option('--all', 'every finding (default: the 10 largest of each kind)')
    .addOption(
      new Option('--fail-on <severity>', 'exit 3 when the report is at least this severe (for cron / monitoring)').choices(['warning', 'critical']),
    );
}

/** Exit status of `--fail-on`: the report is at least that severe. */
export const EXIT_SEVERE = 3;

/** Build and print the report for one capture of an open database; returns the exit code --fail-on asks for. */
export function printReport(db: Database, dbPath: string, flags: ReportFlags, captureId?: number): number {
  const id = flags.capture ?? captureId;
  if (id !== undefined && db.prepare('SELECT 1 FROM captures WHERE id = ?').get(id) === undefined) {
    throw new CliError(`${dbPath}: no capture with id ${id} (list them with: wirestate query "SELECT id, source FROM captures")`, 2);
  }
  if (id === undefined && db.prepare('SELECT 1 FROM captures LIMIT 1').get() === undefined) {
    throw new CliError(`${dbPath}: the database holds no capture yet (run: wirestate ingest FILE --db ${dbPath})`, 1);
  }
  const report = buildReport(db, {
    captureId: id,
    database: dbPath,
    maxPerKind: flags.all ? 0 : 10,
    thresholds: { warnCount: flags.warnCount, warnAgeS: flags.warnAge, critAgeS: flags.critAge },
  });
  process.stdout.write(flags.format === 'json' ? renderJson(report) : renderText(report));
  const sev = report.summary.severity;
  if (flags.failOn === 'critical' && sev === 'critical') return EXIT_SEVERE;
  if (flags.failOn === 'warning' && (sev === 'warning' || sev === 'critical')) return EXIT_SEVERE;
  return 0;
}

export function registerReport(program: Command): void {
  addFleetOptions(addReportOptions(
    usageErrors(program.command('report'))
      .description('diagnose the capture in the database: who leaks CLOSE_WAIT connections, since when, and why')
      .option('--db <path>', 'database file', 'wirestate.db'),
  )).action(
    action((flags: ReportFlags & FleetFlags) => {
      if (flags.clickhouse !== undefined) return printFleetReport(flags);
      const store = openStoreForReading(flags.db);
      try {
        return printReport(store.db, flags.db, flags);
      } finally {
        store.close();
      }
    }),
  );
}
