import { Command, Option } from 'commander';
import { CliError, action, usageErrors } from './cli-error';
import { openStoreForReading, prepareStatement, readRows } from './open-store';
import { ROW_FORMATS, renderRows, type Cell, type RowFormat } from '../report/render-rows';

interface QueryOptions {
  db: string;
  format: RowFormat;
}

export function registerQuery(program: Command): void {
  usageErrors(program.command('query'))
    .description('run one read-only SQL statement against the flow database')
    .argument('<sql>', 'one SELECT / WITH / read-only PRAGMA statement')
    .option('--db <path>', 'database file', 'wirestate.db')
    .addOption(new Option('--format <format>', 'output format').choices(ROW_FORMATS as string[]).default('table'))
    .addHelpText(
      'after',
      `
Tables: captures, capture_files, flows, anomalies, socket_owners, http_flows.
Views: transitions, close_wait, incomplete_closes, time_wait, capture_end,
http_exchanges.
Examples:
  wirestate query "SELECT stuck_h, count(*), max(stuck_s) FROM close_wait
                   GROUP BY stuck_h"
  wirestate query --format csv "SELECT * FROM transitions WHERE flow_id = 2"
  wirestate query "SELECT user_agent, server, count(*) FROM http_flows
                   GROUP BY 1, 2"`,
    )
    .action(action((sql: string, opts: QueryOptions) => runQuery(sql, opts)));
}

function runQuery(sql: string, opts: QueryOptions): number {
  const store = openStoreForReading(opts.db);
  try {
    const stmt = prepareStatement(store, sql, 'SQL error');
    if (!stmt.readonly) {
      throw new CliError('refused: query runs read-only statements only (SELECT, WITH, read-only PRAGMA); this one would modify the database', 2);
    }
    if (!stmt.reader) {
      throw new CliError('refused: query runs statements that return rows only (SELECT, WITH, read-only PRAGMA)', 2);
    }
    const { columns, rows } = readRows<Cell>(stmt, [], 'SQL error');
    process.stdout.write(renderRows(columns, rows, opts.format));
    return 0;
  } finally {
    store.close();
  }
}
