/**
 * Why an export cannot go on, as one line meant for the user. `code` says
 * which kind, so that callers can tell a sink that is down for now
 * (`unreachable`, `timeout`: retried with backoff) from one that will never
 * work as configured (`bad_url`, `auth`, `unknown_database`, `too_old`,
 * `server`: reported and given up).
 */
export type ExportErrorCode = 'bad_url' | 'unreachable' | 'timeout' | 'auth' | 'unknown_database' | 'too_old' | 'not_http' | 'server' | 'no_schema';

export class ExportError extends Error {
  readonly code: ExportErrorCode;
  constructor(code: ExportErrorCode, message: string) {
    super(message);
    this.name = 'ExportError';
    this.code = code;
  }

  /** True when trying again later may work (the sink is down or slow, not misconfigured). */
  get transient(): boolean {
    return this.code === 'unreachable' || this.code === 'timeout';
  }
}
