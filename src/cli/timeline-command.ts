import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, action, usageErrors } from './cli-error';
import { canonicalHost, intArg, oneOf } from './flows-command';
import { openStoreForReading } from './open-store';
import { readStateTimeline, MAX_GROUPS, type TimelineGroupKind } from '../store/state-timeline';
import { TIMELINE_STATES } from '../store/state-stays';
import { renderTimelineCsv, renderTimelineText } from '../report/render-timeline';

interface TimelineOptions {
  db: string;
  capture?: number;
  state?: string[];
  host?: string;
  port?: number;
  every?: number;
  by: TimelineGroupKind;
  maxGroups: number;
  format: 'text' | 'csv' | 'json';
}

const stateName = oneOf('a counted TCP state', TIMELINE_STATES);

/** --state close-wait time-wait, --state close-wait --state time-wait, or --state close-wait,time-wait. */
function addStates(v: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...v.split(',').filter((s) => s !== '').map(stateName)];
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds >= 0 (0 = exact change points)');
  return n;
}

export function registerTimeline(program: Command): void {
  usageErrors(program.command('timeline'))
    .description('endpoints in each TCP state over the capture: a sparkline per state, or CSV/JSON for plotting')
    .option('--db <path>', 'database file', 'wirestate.db')
    .option('--capture <id>', 'capture (default: the newest)', intArg(1, Number.MAX_SAFE_INTEGER))
    .option('--state <state...>', `only these states: ${TIMELINE_STATES.join(', ')} (any case, - or _; default: every state seen)`, addStates)
    .option('--host <addr>', 'only endpoints of connections with this address')
    .option('--port <port>', 'only connections with this port', intArg(0, 65535))
    .option('--every <seconds>', 'bucket width (0 = exact change points; default adapts to the capture)', seconds)
    .addOption(new Option('--by <group>', 'one timeline overall, per service (server address:port) or per host (the endpoint\'s own address)').choices(['all', 'service', 'host']).default('all'))
    .option('--max-groups <n>', 'with --by service|host: the groups with the highest peaks, at most this many', intArg(1, 1_000_000), MAX_GROUPS)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'csv', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Counts are of endpoints (each side of a connection counts on its own), from
the stored transitions; TIME_WAIT ends at its 2*MSL expiry. Short captures
show every change; long ones buckets (count at the bucket's end, min and max
within it). On a live database: up to the last flush.
Examples:
  wirestate timeline
  wirestate timeline --state close-wait time-wait --by host
  wirestate timeline --state close-wait --every 60 --format csv`,
    )
    .action(action((opts: TimelineOptions) => printTimeline(opts)));
}

function printTimeline(opts: TimelineOptions): number {
  const store = openStoreForReading(opts.db);
  try {
    const id = opts.capture ?? store.latestCaptureId();
    if (id === undefined) throw new CliError(`${opts.db}: the database holds no capture yet (run: wirestate ingest FILE --db ${opts.db})`, 1);
    if (!store.hasCapture(id)) {
      throw new CliError(`${opts.db}: no capture with id ${id} (list them with: wirestate query "SELECT id, source FROM captures")`, 2);
    }
    let tl;
    try {
      tl = readStateTimeline(store.db, {
        captureId: id,
        states: opts.state,
        host: opts.host === undefined ? undefined : canonicalHost(opts.host),
        port: opts.port,
        group: opts.by,
        everyS: opts.every,
        maxGroups: opts.maxGroups,
      });
    } catch (err) {
      if (err instanceof RangeError) throw new CliError(`--every ${opts.every}: ${err.message}`, 2);
      throw err;
    }
    if (opts.format === 'json') process.stdout.write(`${JSON.stringify(tl, null, 2)}\n`);
    else if (opts.format === 'csv') process.stdout.write(renderTimelineCsv(tl));
    else {
      const src = store.db.prepare('SELECT source FROM captures WHERE id = ?').get(id) as { source: string };
      process.stdout.write(renderTimelineText(tl, src.source));
    }
    return 0;
  } finally {
    store.close();
  }
}
