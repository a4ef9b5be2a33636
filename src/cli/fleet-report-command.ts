import { InvalidArgumentError, type Command } from 'commander';
import { CliError } from './cli-error';
import { clickhouseTarget, exportFailure } from './clickhouse-target';
import { ClickHouseSink } from '../export/clickhouse-sink';
import { readFleet } from '../export/fleet-query';
import { buildFleetReport, renderFleetJson, renderFleetText } from '../report/fleet-report';

export interface FleetFlags {
  clickhouse?: string;
  host?: string[];
  since?: number;
  format: 'text' | 'json';
  warnCount?: number;
  warnAge?: number;
  critAge?: number;
  failOn?: 'warning' | 'critical';
}

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `--since`: "3h", "90m", "2d", "45s" before now, or an ISO 8601 time; Unix seconds. */
export function parseSince(v: string, nowS = Date.now() / 1000): number {
  const rel = /^(\d+(?:\.\d+)?)([smhd])$/.exec(v.trim());
  if (rel) return nowS - Number(rel[1]) * UNIT_S[rel[2]];
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new InvalidArgumentError(`'${v}' is neither a duration before now (3h, 90m, 2d) nor an ISO time (2026-12-01T10:00Z)`);
  return t / 1000;
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/** The fleet options of `report`. */
export function addFleetOptions(cmd: Command): Command {
  return cmd
    .option('--clickhouse <url>', 'report across every host exported to this ClickHouse (clickhouse://HOST:HTTP_PORT/DB) instead of a database file')
    .option('--host <label>', 'with --clickhouse: only this host (repeatable)', collect)
    .option('--since <time>', 'with --clickhouse: only captures reaching past this time (3h, 2d, or ISO 8601)', (v: string) => parseSince(v));
}

export async function printFleetReport(flags: FleetFlags): Promise<number> {
  const target = clickhouseTarget(flags.clickhouse as string);
  const sink = new ClickHouseSink(target);
  try {
    const input = await readFleet(sink, { hosts: flags.host ?? [], sinceTs: flags.since ?? null });
    if (input.hosts.length === 0) {
      throw new CliError(`${target.display}: no captures${flags.host ? ` of host ${flags.host.join(', ')}` : ''}${flags.since !== undefined ? ' since then' : ''} (send some: wirestate export --to ${target.display})`, 1);
    }
    const report = buildFleetReport({ ...input, thresholds: { warnCount: flags.warnCount, warnAgeS: flags.warnAge, critAgeS: flags.critAge } });
    process.stdout.write(flags.format === 'json' ? renderFleetJson(report) : renderFleetText(report));
    if (flags.failOn === 'critical' && report.severity === 'critical') return 3;
    if (flags.failOn === 'warning' && report.severity !== 'info') return 3;
    return 0;
  } catch (err) {
    throw exportFailure(err);
  } finally {
    await sink.close();
  }
}
