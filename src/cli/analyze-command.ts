import { Command } from 'commander';
import { CliError, action, usageErrors } from './cli-error';
import { openStoreForWriting } from './open-store';
import { addEngineOptions } from './engine-options';
import { runIngest, type IngestFlags } from './ingest-command';
import { addReportOptions, printReport, type ReportFlags } from './report-command';

export function registerAnalyze(program: Command): void {
  addReportOptions(
    addEngineOptions(usageErrors(program.command('analyze')))
      .description('ingest capture files, then report on them: who leaks CLOSE_WAIT connections, since when, and why')
      .argument('<files...>', "pcap / pcapng files, optionally gzipped ('-' = standard input)")
      .option('--db <path>', 'database file (created if missing)', 'wirestate.db')
      .option('-q, --quiet', 'no ingest progress or summary')
      .option('--progress', 'show ingest progress even when stderr is not a terminal')
      .option('--html <file>', 'also write the report as one self-contained HTML page (charts, ladder diagrams) to this file'),
    'the capture these files are in',
  ).action(
    action(async (files: string[], flags: IngestFlags & ReportFlags & { html?: string }) => {
      const store = openStoreForWriting(flags.db);
      try {
        const { result, exitCode, captureIds } = await runIngest(store, files, flags, false);
        // The new capture, or the one that already holds these files.
        const id = result.captureId ?? (captureIds.length > 0 ? Math.max(...captureIds) : undefined);
        if (id === undefined) {
          if (exitCode !== 0) return exitCode;
          throw new CliError('nothing to report: no capture was read', 1);
        }
        const severe = await printReport(store.db, flags.db, flags, id, flags.html);
        return exitCode !== 0 ? exitCode : severe;
      } finally {
        store.close();
      }
    }),
  );
}
