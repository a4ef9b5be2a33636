import { CliError } from './cli-error';
import { ExportError, parseClickHouseUrl, type ClickHouseTarget } from '../export';

/** A ClickHouse URL from the command line; a bad one is a usage error (exit 2). */
export function clickhouseTarget(url: string): ClickHouseTarget {
  try {
    return parseClickHouseUrl(url);
  } catch (err) {
    if (err instanceof ExportError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** An export failure as the one-line CLI error (exit 1). */
export function exportFailure(err: unknown): unknown {
  if (err instanceof ExportError) return new CliError(err.message, err.code === 'bad_url' ? 2 : 1);
  return err;
}

/** os.hostname() unless --host-label says otherwise (never empty). */
export function hostLabel(label: string | undefined, fallback: string): string {
  if (label === undefined) return fallback;
  if (label.trim() === '' || /[\n\r]/.test(label)) throw new CliError(`--host-label must be a non-empty single line, got '${label}'`, 2);
  return label;
}
