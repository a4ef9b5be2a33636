import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Database } from 'better-sqlite3';
import { CliError, action, usageErrors } from './cli-error';
import { openStoreForReading } from './open-store';
import { buildReport } from '../report/model';
import { renderText } from '../report/render-text';
import { addFleetOptions, printFleetReport, type FleetFlags } from './fleet-report-command';
import { renderJson } from '../report/render-json';
import { renderHtml } from '../report/render-html';
import { buildFigures } from '../report/figures/figures';
import { readStateTimeline } from '../store/state-timeline';

export interface ReportFlags {
  db: string;
  format: 'text' | 'json' | 'html';
  /** Write the report to this file instead of standard output. */
  output?: string;
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
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --output <file>', 'write the report to this file instead of standard output (html: one self-contained page)')
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

/**
 * Build the report for one capture of an open database and print it (or write it to --output);
 * `htmlFile` also writes the HTML page there (analyze --html). Returns the exit code --fail-on asks for.
 */
export async function printReport(db: Database, dbPath: string, flags: ReportFlags, captureId?: number, htmlFile?: string): Promise<number> {
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
  const html = async (): Promise<string> => renderHtml(report, await buildFigures(db, report, (d, captureId) => readStateTimeline(d, { captureId })));
  const out = flags.format === 'json' ? renderJson(report) : flags.format === 'html' ? await html() : renderText(report);
  if (flags.output !== undefined) writeReport(flags.output, out);
  else process.stdout.write(out);
  if (htmlFile !== undefined) writeReport(htmlFile, flags.format === 'html' ? out : await html());
  const sev = report.summary.severity;
  if (flags.failOn === 'critical' && sev === 'critical') return EXIT_SEVERE;
  if (flags.failOn === 'warning' && (sev === 'warning' || sev === 'critical')) return EXIT_SEVERE;
  return 0;
}

function writeReport(file: string, text: string): void {
  try {
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new CliError(`${file}: cannot write the report: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 1);
  }
}

export function registerReport(program: Command): void {
  addFleetOptions(addReportOptions(
    usageErrors(program.command('report'))
      .description('diagnose the capture in the database: who leaks CLOSE_WAIT connections, since when, and why')
      .option('--db <path>', 'database file', 'wirestate.db'),
  )).action(
    action(async (flags: ReportFlags & Omit<FleetFlags, 'format'>) => {
      if (flags.clickhouse !== undefined) {
        if (flags.format === 'html' || flags.output !== undefined) throw new CliError('--format html and -o are for the report of one capture, not the fleet report (--clickhouse)', 2);
        return printFleetReport({ ...flags, format: flags.format });
      }
      const store = openStoreForReading(flags.db);
      try {
        return await printReport(store.db, flags.db, flags);
      } finally {
        store.close();
      }
    }),
  );
}
