import { Command } from 'commander';
import { CliError } from './cli-error';

/** Flags that tune the TCP engine, shared by ingest, analyze and live. */
export interface EngineFlags {
  timeWait?: string;
  idleTimeout?: string;
  /** commander's --no-http: false when given. */
  http?: boolean;
}

export function addEngineOptions(cmd: Command): Command {
  return cmd
    .option('--time-wait <seconds>', 'how long TIME_WAIT lasts before it reads CLOSED: 2*MSL of the hosts (Linux: 60)')
    .option(
      '--idle-timeout <seconds>',
      'forget an established connection silent this long (half-closed ones are kept: CLOSE_WAIT has no timeout)',
    )
    .option('--no-http', 'do not read HTTP/1.x message heads and TLS SNI from the payload (faster on busy servers; no http_flows rows)');
}

function seconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${flag} must be a number of seconds > 0, got '${value}'`, 2);
  return Math.round(n * 1e6);
}

/** Engine options in microseconds; only the flags that were given. */
export function engineOptions(flags: EngineFlags): { timeWaitUs?: number; idleTimeoutUs?: number; app?: boolean } {
  const out: { timeWaitUs?: number; idleTimeoutUs?: number; app?: boolean } = {};
  if (flags.http === false) out.app = false;
  const tw = seconds('--time-wait', flags.timeWait);
  const idle = seconds('--idle-timeout', flags.idleTimeout);
  if (tw !== undefined) out.timeWaitUs = tw;
  if (idle !== undefined) out.idleTimeoutUs = idle;
  return out;
}
