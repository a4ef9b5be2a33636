#!/usr/bin/env node
import { Command } from 'commander';
import { registerStats } from './stats-command';
import { registerIngest } from './ingest-command';
import { registerQuery } from './query-command';
import { registerReport } from './report-command';
import { registerAnalyze } from './analyze-command';
import { registerFlows } from './flows-command';
import { registerLive } from './live-command';
import { registerInterfaces } from './interfaces-command';
import { registerExport } from './export-command';
import { registerClickHouse } from './clickhouse-command';
import { registerTimeline } from './timeline-command';
import { reportError, usageErrors } from './cli-error';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const pkg = require('../../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  usageErrors(program)
    .name('wirestate')
    .description('Reconstruct the TCP state of every endpoint in a capture and explain stuck CLOSE_WAIT sockets.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Start here:
  wirestate analyze capture.pcap       read it into ./wirestate.db and diagnose
  wirestate flows --state CLOSE_WAIT   the stuck connections, one per line
  wirestate query "SELECT * FROM close_wait"
Flow roles: orig = the side that sent the SYN (client), resp = the responder
(server), as in Zeek. States are RFC 9293 names (CLOSE_WAIT, FIN_WAIT_2, ...).
Run wirestate <command> --help for each command's options.`,
    );
  registerAnalyze(program);
  registerIngest(program);
  registerReport(program);
  registerFlows(program);
  registerTimeline(program);
  registerQuery(program);
  registerStats(program);
  registerLive(program);
  registerInterfaces(program);
  registerExport(program);
  registerClickHouse(program);
  return program;
}

if (require.main === module) {
  process.on('uncaughtException', (err) => {
    process.exit(reportError(err));
  });
  buildProgram()
    .parseAsync(process.argv)
    .catch((err) => {
      process.exitCode = reportError(err);
    });
}
