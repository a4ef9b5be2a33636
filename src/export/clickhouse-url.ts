import { ExportError } from './export-error';

/** Where and as whom to reach a ClickHouse server over its HTTP interface. */
export interface ClickHouseTarget {
  /** http(s)://host:port of the HTTP interface (no credentials, no path). */
  httpUrl: string;
  database: string;
  username: string;
  password: string;
  /** The URL as shown in messages and stored in export cursors: scheme://host:port/db, never the password. */
  display: string;
}

const DEFAULT_HTTP_PORT = 8123;
const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parse `clickhouse://[user[:password]@]host[:port]/db` (also `http://` and
 * `https://` with the same parts). The port is always the server's HTTP
 * interface (default 8123, the same for every scheme but https, 8443): the
 * official client talks HTTP. The password may also come from
 * WIRESTATE_CLICKHOUSE_PASSWORD (kept out of `ps` and shell history); the
 * user defaults to `default`. Throws ExportError('bad_url').
 */
export function parseClickHouseUrl(text: string, env: NodeJS.ProcessEnv = process.env): ClickHouseTarget {
  const bad = (why: string) => new ExportError('bad_url', `${text}: not a ClickHouse URL (${why}); expected clickhouse://HOST:PORT/DB`);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw bad('cannot parse it');
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'clickhouse' && scheme !== 'http' && scheme !== 'https') throw bad(`scheme ${scheme}: is not clickhouse:, http: or https:`);
  if (u.hostname === '') throw bad('no host');
  if (u.search !== '' || u.hash !== '') throw bad('query strings and fragments are not used');
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (db === '') throw bad('no database after the host');
  if (!DATABASE_NAME.test(db)) throw bad(`database name '${db}' must be letters, digits and _`);
  const port = u.port === '' ? (scheme === 'https' ? 8443 : DEFAULT_HTTP_PORT) : Number(u.port);
  const httpScheme = scheme === 'https' ? 'https' : 'http';
  const host = u.hostname;
  const password = u.password !== '' ? decodeURIComponent(u.password) : (env.WIRESTATE_CLICKHOUSE_PASSWORD ?? '');
  return {
    httpUrl: `${httpScheme}://${host}:${port}`,
    database: db,
    username: u.username !== '' ? decodeURIComponent(u.username) : 'default',
    password,
    display: `${scheme}://${host}:${port}/${db}`,
  };
}
