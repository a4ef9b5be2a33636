import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseTarget } from './clickhouse-url';
import { ExportError } from './export-error';

/** A server version as numbers, e.g. [18, 16, 1]. */
export type ServerVersion = readonly number[];

export function parseServerVersion(text: string): ServerVersion {
  return text.split('.').map((p) => Number.parseInt(p, 10)).filter((n) => Number.isFinite(n));
}

export function versionAtLeast(v: ServerVersion, min: ServerVersion): boolean {
  for (let i = 0; i < min.length; i++) {
    const a = v[i] ?? 0;
    if (a !== min[i]) return a > min[i];
  }
  return true;
}

/** Server error codes (the same numbers on 18.16 and 24.x). */
const AUTH_CODES = new Set([192, 193, 194, 516]);
const UNKNOWN_DATABASE = 81;
const UNKNOWN_TABLE = 60;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

/**
 * The server's own message without its decorations: 18.16 answers
 * "Code: 81, e.displayText() = DB::Exception: Database x doesn't exist,
 * e.what() = DB::Exception", 24.x "Code: 81. DB::Exception: Database x
 * does not exist. (UNKNOWN_DATABASE) (version 24.3...)". The official
 * client parses only the newer form into `code`; this reads both.
 */
function serverError(err: Error): { code: number; text: string } | null {
  const m = /Code: (\d+)[.,]\s*(?:e\.displayText\(\) = )?(?:DB::Exception: )?(.*)/s.exec(err.message);
  if (!m) {
    const code = Number((err as { code?: unknown }).code);
    return Number.isInteger(code) && code > 0 ? { code, text: err.message } : null;
  }
  const text = m[2].split('\n')[0].replace(/, e\.what\(\) = .*$/, '').replace(/\s*\(version .*\)\s*$/, '').replace(/\s*\([A-Z_]+\)\s*$/, '').trim();
  return { code: Number(m[1]), text };
}

/** Turn whatever the client threw into one ExportError line naming the target. */
export function classifyError(err: unknown, target: ClickHouseTarget): ExportError {
  if (err instanceof ExportError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const where = target.display;
  const sys = (e as { code?: unknown }).code;
  if (typeof sys === 'string' && NETWORK_CODES.has(sys)) {
    return new ExportError('unreachable', `${where}: ClickHouse unreachable (${sys.toLowerCase()} ${target.httpUrl.replace(/^https?:\/\//, '')})`);
  }
  if (/timeout/i.test(e.message) && !/^Code:/.test(e.message)) return new ExportError('timeout', `${where}: ClickHouse did not answer in time`);
  if (/socket hang up/i.test(e.message)) return new ExportError('unreachable', `${where}: ClickHouse closed the connection`);
  const portMatch = /Port (\d+) is for clickhouse-client program/.exec(e.message);
  if (portMatch) return new ExportError('not_http', `${where}: port ${portMatch[1]} is ClickHouse's native TCP port; wirestate talks HTTP (usually port 8123)`);
  const se = serverError(e);
  if (se) {
    if (AUTH_CODES.has(se.code)) return new ExportError('auth', `${where}: authentication failed for user ${target.username} (${se.text})`);
    if (se.code === UNKNOWN_DATABASE) return new ExportError('unknown_database', `${where}: no database ${target.database} on the server (create it: wirestate clickhouse init ${where} --create-database)`);
    if (se.code === UNKNOWN_TABLE) return new ExportError('no_schema', `${where}: ${se.text} (create the tables first: wirestate clickhouse init ${where})`);
    return new ExportError('server', `${where}: ClickHouse error ${se.code}: ${se.text}`);
  }
  return new ExportError('unreachable', `${where}: ${e.message.split('\n')[0]}`);
}

export interface SinkOptions {
  /** One request's time limit, ms (default 30000). */
  requestTimeoutMs?: number;
}

/**
 * One ClickHouse server and database, through the official client over
 * HTTP with JSONEachRow: the only format and transport every server from
 * 18.16 to today speaks the same way. The client is loaded on first use, so
 * commands that never export do not need it installed.
 */
export class ClickHouseSink {
  readonly target: ClickHouseTarget;
  private readonly client: ClickHouseClient;
  private serverVersion: string | null = null;

  constructor(target: ClickHouseTarget, opts: SinkOptions = {}) {
    this.target = target;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const ch = require('@clickhouse/client') as typeof import('@clickhouse/client');
    this.client = ch.createClient({
      url: target.httpUrl,
      username: target.username,
      password: target.password,
      database: target.database,
      request_timeout: opts.requestTimeoutMs ?? 30000,
      // Errors are reported by wirestate as one line; the client's own log would print stacks.
      log: { level: ch.ClickHouseLogLevel.OFF },
      // 18.16 knows neither the newer settings nor compressed requests; send nothing it could reject.
      compression: { request: false, response: false },
      application: 'wirestate',
    });
  }

  /** Server version text (e.g. "18.16.1"), asked once; also proves the credentials and the database. */
  async version(): Promise<string> {
    if (this.serverVersion === null) {
      const rows = await this.select<{ v: string }>('SELECT version() AS v');
      this.serverVersion = rows[0]?.v ?? '0';
    }
    return this.serverVersion;
  }

  async select<T>(query: string): Promise<T[]> {
    try {
      const rs = await this.client.query({ query, format: 'JSONEachRow' });
      return (await rs.json()) as T[];
    } catch (err) {
      throw classifyError(err, this.target);
    }
  }

  async command(query: string): Promise<void> {
    try {
      await this.client.command({ query });
    } catch (err) {
      throw classifyError(err, this.target);
    }
  }

  /** One INSERT of all `rows` (JSONEachRow); nothing for an empty list. */
  async insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      // A stream of rows: the client encodes them one at a time as the request goes out (an array would be
      // turned into one string first, doubling the batch's memory).
      await this.client.insert({ table, values: Readable.from(rows, { objectMode: true }), format: 'JSONEachRow' });
    } catch (err) {
      throw classifyError(err, this.target);
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.close();
    } catch {
      // closing a pool of dead sockets cannot fail in a way worth reporting
    }
  }
}
