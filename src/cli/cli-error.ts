import type { Command } from 'commander';
import { CaptureError } from '../source/capture-error';

/** An error meant for the user: printed as one line, then the process exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/**
 * A file that cannot be opened has no byte offset worth naming: "x.pcap: no
 * such file at byte 0" reads as if byte 0 were damaged. Drop it there; every
 * message about a file's content keeps its offset.
 */
export function fileMessage(message: string): string {
  return message.replace(/: (no such file|permission denied|is a directory[^:]*|cannot read \([^)]*\)) at byte 0$/, ': $1');
}

/**
 * Print an error as one line on stderr (no stack trace unless WIRESTATE_DEBUG
 * is set) and return the exit code to use.
 */
export function reportError(err: unknown): number {
  if (process.env.WIRESTATE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  if (err instanceof CliError) {
    process.stderr.write(`wirestate: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof CaptureError) {
    process.stderr.write(`wirestate: ${fileMessage(err.message)}\n`);
    return 1;
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`wirestate: ${msg.split('\n')[0]}\n`);
  return 1;
}

/** Wrap an async commander action so that errors become one-line messages and exit codes. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number' && code !== 0) process.exitCode = code;
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}

/** Exit status of a command line that cannot be run as typed (unknown option, bad value), like --host foo. */
export const EXIT_USAGE = 2;

/**
 * Usage errors of a subcommand the way every other error reads: one line
 * starting "wirestate: ", then the hint, exit status 2 (commander's own
 * default is "error: ..." and 1, the status of an unusable input file).
 */
export function usageErrors(cmd: Command): Command {
  return cmd
    .configureOutput({ outputError: (str, write) => write(`wirestate: ${str.replace(/^error: /, '')}`) })
    .exitOverride((err) => {
      // --help and --version end with status 0 and must stay that way.
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    });
}
