import { Command, InvalidArgumentError } from 'commander';
import { action, usageErrors } from './cli-error';
import { clickhouseTarget, exportFailure } from './clickhouse-target';
import { initClickHouse } from '../export/clickhouse-init';

function days(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number of days');
  return n;
}

export function registerClickHouse(program: Command): void {
  const ch = usageErrors(program.command('clickhouse')).description('set up a ClickHouse database that many capture hosts export to (see wirestate export, live --export)');
  usageErrors(ch.command('init'))
    .description('create the wirestate tables (flows, transitions, captures) and views (close_wait, incomplete_closes, time_wait, capture_end) in a ClickHouse database')
    .argument('<url>', 'clickhouse://[USER[:PASSWORD]@]HOST[:HTTP_PORT]/DB (port default 8123; http:// and https:// also work; password also from WIRESTATE_CLICKHOUSE_PASSWORD)')
    .option('--create-database', 'create the database first if it does not exist')
    .option('--ttl-days <n>', 'drop rows older than this many days (needs ClickHouse 19.6 or later)', days)
    .action(
      action(async (url: string, opts: { createDatabase?: boolean; ttlDays?: number }) => {
        const target = clickhouseTarget(url);
        try {
          const r = await initClickHouse(target, { createDatabase: opts.createDatabase, ttlDays: opts.ttlDays });
          process.stdout.write(
            `${r.createdDatabase ? `created database ${target.database}; ` : ''}tables ${r.tables.join(', ')} and views ${r.views.join(', ')} ready in ${target.display} (ClickHouse ${r.serverVersion})\n`,
          );
        } catch (err) {
          throw exportFailure(err);
        }
      }),
    );
}
