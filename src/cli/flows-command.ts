import { isIPv4, isIPv6 } from 'node:net';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, action, usageErrors } from './cli-error';
import { openStoreForReading, prepareStatement, readRows } from './open-store';
import { ROW_FORMATS, renderRows, type Cell, type RowFormat } from '../report/render-rows';
import { ZEEK_CONN_COLUMNS, zeekJsonLine, zeekTsvFooter, zeekTsvHeader, zeekTsvLine, type ZeekConnRow } from '../report/render-zeek';

/** TcpState names as the report and the database print them; also accepted as ss spells them (close-wait). */
const STATES = ['SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSING', 'TIME_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED', 'UNKNOWN'];
const CLOSE_KINDS = ['normal', 'close_wait', 'fin_unacked', 'last_ack_unacked', 'reset_after_half_close', 'reset', 'refused', 'no_reply', 'open', 'unknown'];
/** Close kinds read from the application layer (http_flows.close_kind); they refine the TCP close kind. */
const APP_CLOSE_KINDS = ['keepalive_race'];

/** Accept any case and '-' or '_' ("close-wait", "CLOSE_WAIT", "Close_Wait"); return the spelling stored in the database. */
export function oneOf(what: string, names: readonly string[]) {
  return (v: string): string => {
    const key = v.trim().toLowerCase().replace(/-/g, '_');
    const hit = names.find((n) => n.toLowerCase() === key);
    if (hit === undefined) throw new InvalidArgumentError(`'${v}' is not ${what}; one of: ${names.join(', ')}`);
    return hit;
  };
}

interface FlowsOptions {
  db: string;
  state?: string;
  side?: Side;
  closeKind?: string;
  host?: string;
  port?: number;
  client?: string;
  server?: string;
  capture?: number;
  limit: number;
  format: RowFormat | ZeekFormat;
  wide?: boolean;
}

/** Which endpoint --state, --host and --port select on: the client (orig, sent the SYN) or the server (resp). */
type Side = 'client' | 'server';
const SIDES: Readonly<Record<string, Side>> = { client: 'client', orig: 'client', server: 'server', resp: 'server' };

/** The flow columns that hold the endpoint's value: both unless a side is given. */
function sideColumns(side: Side | undefined, column: 'state' | 'h' | 'p'): string[] {
  if (side === 'client') return [`f.orig_${column}`];
  if (side === 'server') return [`f.resp_${column}`];
  return [`f.orig_${column}`, `f.resp_${column}`];
}

/** (a = ? OR b = ?) on the side's columns, and its parameters. */
function onSide(side: Side | undefined, column: 'state' | 'h' | 'p', value: string | number): { sql: string; params: (string | number)[] } {
  const cols = sideColumns(side, column);
  return { sql: `(${cols.map((c) => `${c} = ?`).join(' OR ')})`, params: cols.map(() => value) };
}

/** Zeek's conn.log: TSV as Zeek's ASCII writer writes it, or one JSON object per line (render-zeek.ts). */
type ZeekFormat = 'zeek' | 'zeek-json';
const ZEEK_FORMATS: readonly ZeekFormat[] = ['zeek', 'zeek-json'];

export function intArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };
}

export function registerFlows(program: Command): void {
  usageErrors(program.command('flows'))
    .description('list flows without writing SQL (filters combine with AND)')
    .option('--db <path>', 'database file', 'wirestate.db')
    .option('--state <state>', `either endpoint in this RFC 9293 state at capture end: ${STATES.join(', ')} (any case, - or _)`, oneOf('a TCP state', STATES))
    .option(
      '--close-kind <kind>',
      `how the connection ended: ${[...CLOSE_KINDS, ...APP_CLOSE_KINDS].join(', ')}`,
      oneOf('a close kind', [...CLOSE_KINDS, ...APP_CLOSE_KINDS]),
    )
    .option('--host <addr>', 'either endpoint has this address')
    .option('--port <port>', 'either endpoint has this port', intArg(0, 65535))
    .option('--side <side>', '--state, --host and --port apply to this endpoint only: client (orig) or server (resp)', (v: string): Side => {
      const side = SIDES[v.toLowerCase()];
      if (side === undefined) throw new InvalidArgumentError('must be client (or orig) or server (or resp)');
      return side;
    })
    .option('--client <addr[:port]>', 'the client (orig) has this address, and this port if given')
    .option('--server <addr[:port]>', 'the server (resp) has this address, and this port if given ([v6]:port for IPv6)')
    .option('--capture <id>', 'only this capture', intArg(1, Number.MAX_SAFE_INTEGER))
    .option('--limit <n>', 'at most this many rows (0 = all; default 100, all for the zeek formats)', intArg(0, Number.MAX_SAFE_INTEGER), 100)
    .addOption(
      new Option('--format <format>', 'output format (zeek: a conn.log for zeek-cut; zeek-json: Zeek\'s JSON field names)')
        .choices([...ROW_FORMATS, ...ZEEK_FORMATS] as string[])
        .default('table'),
    )
    .option('--wide', 'table format: every column (json/csv/ndjson always have every column)')
    .addHelpText(
      'after',
      `
Columns: orig = the endpoint that sent the SYN (the client; guessed from the
ports when the capture started mid-connection), resp = the responder (the
server), as in Zeek's conn.log. orig_state/resp_state = each side's TCP state
at capture end; in_state_s = seconds the newer of the two states had lasted
then; fin_by = who sent the first FIN; idle_s = seconds without data before it.
--wide and json/csv/ndjson add what the HTTP/1.x or TLS payload said
(http_flows): requests, responses, user_agent, server, http_host,
connection_close_by, keepalive_timeout (the server's Keep-Alive: timeout=N),
longest_reuse_idle (s), tls_sni, app_close_kind (keepalive_race: a request
on a kept-alive connection met the server's idle close and got no response),
race_requests, fin_to_request (s from the server's FIN to the request; null
when the server reset without FIN), race_signal (fin or rst: what the request
met), signal_to_request (s from that FIN or RST to the request; negative: the
request came first).
Examples:
  wirestate flows --state CLOSE_WAIT
  wirestate flows --state TIME_WAIT --side server --port 80
  wirestate flows --close-kind reset_after_half_close --port 80 --format csv
  wirestate flows --close-kind keepalive_race --client 10.0.0.5 \\
    --server 10.0.0.1:80
  wirestate flows --format zeek > conn.log`,
    )
    .action(
      action((opts: FlowsOptions, cmd: Command) => {
        // A conn.log is an export: all rows unless --limit was given.
        if ((opts.format === 'zeek' || opts.format === 'zeek-json') && cmd.getOptionValueSource('limit') === 'default') opts.limit = 0;
        return listFlows(opts);
      }),
    );
}

/** An address in the canonical text addresses are stored in (RFC 5952 for IPv6), brackets allowed; null when it is none. */
function canonicalAddress(given: string): string | null {
  const h = /^\[([^\]]+)\]$/.exec(given)?.[1] ?? given;
  if (isIPv6(h)) return new URL(`http://[${h}]/`).hostname.slice(1, -1);
  if (isIPv4(h)) return h.split('.').map((x) => String(Number(x))).join('.');
  return null;
}

/** Addresses are stored in canonical text (RFC 5952 for IPv6): accept any spelling. */
export function canonicalHost(given: string): string {
  // The report writes IPv6 endpoints as [addr]:port; accept the address pasted with its brackets.
  const h = canonicalAddress(given);
  if (h !== null) return h;
  const hp = /^\[?([^\]]*?)\]?:(\d+)$/.exec(given);
  if (hp && (isIPv4(hp[1]) || isIPv6(hp[1]))) throw new CliError(`--host ${given}: give the address and the port apart: --host ${hp[1]} --port ${hp[2]}`, 2);
  throw new CliError(`--host ${given}: not an IPv4 or IPv6 address`, 2);
}

/**
 * "10.0.0.1", "10.0.0.1:80", "fd00::1", "[fd00::1]:80" (as the report writes
 * endpoints) → the canonical address and the port, if one was given.
 */
export function endpointArg(option: string, given: string): { h: string; p: number | null } {
  const hp = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(given);
  const port = hp ? Number(hp[2]) : null;
  if (port !== null && port > 65535) throw new CliError(`${option} ${given}: the port must be from 0 to 65535`, 2);
  const h = canonicalAddress(hp ? hp[1] : given);
  if (h === null) throw new CliError(`${option} ${given}: not an IPv4 or IPv6 address, with or without :port`, 2);
  return { h, p: port };
}

function listFlows(opts: FlowsOptions): number {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const match = (column: 'state' | 'h' | 'p', value: string | number) => {
    const c = onSide(opts.side, column, value);
    where.push(c.sql);
    params.push(...c.params);
  };
  if (opts.side && !opts.state && opts.host === undefined && opts.port === undefined) {
    throw new CliError('--side applies to --state, --host or --port: give one of them too', 2);
  }
  if (opts.state) match('state', opts.state);
  if (opts.closeKind && APP_CLOSE_KINDS.includes(opts.closeKind)) {
    where.push('h.close_kind = ?');
    params.push(opts.closeKind);
  } else if (opts.closeKind) {
    where.push('f.close_kind = ?');
    params.push(opts.closeKind);
  }
  if (opts.host) {
    match('h', canonicalHost(opts.host));
  }
  if (opts.port !== undefined) match('p', opts.port);
  for (const [option, given, side] of [['--client', opts.client, 'orig'], ['--server', opts.server, 'resp']] as const) {
    if (given === undefined) continue;
    const e = endpointArg(option, given);
    where.push(`f.${side}_h = ?`);
    params.push(e.h);
    if (e.p !== null) {
      where.push(`f.${side}_p = ?`);
      params.push(e.p);
    }
  }
  if (opts.capture !== undefined) {
    where.push('f.capture_id = ?');
    params.push(opts.capture);
  }
  const filter = `${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY f.capture_id, f.first_ts, f.id
    ${opts.limit > 0 ? `LIMIT ${opts.limit}` : ''}`;
  if (opts.format === 'zeek' || opts.format === 'zeek-json') return writeConnLog(opts, `SELECT ${ZEEK_CONN_COLUMNS} FROM flows f ${filter}`, params);
  const sql = `SELECT f.id, f.capture_id AS cap, f.orig_h, f.orig_p, f.resp_h, f.resp_p,
      f.orig_state, f.resp_state,
      round(e.end_ts - f.orig_state_since, 3) AS orig_for_s,
      round(e.end_ts - f.resp_state_since, 3) AS resp_for_s,
      f.close_kind, f.first_fin_by, round(f.idle_before_fin, 3) AS idle_before_fin,
      f.conn_state, f.history, round(f.duration, 3) AS duration,
      f.orig_pkts, f.orig_bytes, f.resp_pkts, f.resp_bytes,
      h.requests, h.responses, h.user_agent, h.server, h.host AS http_host, h.connection_close_by,
      h.keepalive_timeout, round(h.longest_reuse_idle, 3) AS longest_reuse_idle, h.tls_sni,
      h.close_kind AS app_close_kind, h.race_requests, round(h.fin_to_request, 3) AS fin_to_request,
      h.race_signal, round(h.signal_to_request, 3) AS signal_to_request
    FROM flows f JOIN capture_end e ON e.capture_id = f.capture_id
    LEFT JOIN http_flows h ON h.flow_id = f.id
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY f.capture_id, f.first_ts, f.id
    ${opts.limit > 0 ? `LIMIT ${opts.limit + 1}` : ''}`;
  const store = openStoreForReading(opts.db);
  try {
    let { columns, rows } = readRows<Cell>(prepareStatement(store, sql, opts.db), params, opts.db);
    // One row more than asked tells whether --limit really cut the list.
    const cut = opts.limit > 0 && rows.length > opts.limit;
    if (cut) rows = rows.slice(0, opts.limit);
    if (opts.format === 'table' && !opts.wide) [columns, rows] = compact(columns, rows);
    const style = opts.format === 'table' && !opts.wide ? { nullText: '-', decimals: { in_state_s: 3, idle_s: 3 } } : {};
    process.stdout.write(renderRows(columns, rows, opts.format, style));
    if (opts.format === 'table' && cut) {
      process.stdout.write(`(stopped at --limit ${opts.limit}; --limit 0 lists all)\n`);
    }
    return 0;
  } finally {
    store.close();
  }
}

/** Stream the selected flows as a Zeek conn.log (TSV or JSON lines); #open/#close carry the export time, as Zeek's do the log's. */
function writeConnLog(opts: FlowsOptions, sql: string, params: (string | number)[]): number {
  const store = openStoreForReading(opts.db);
  try {
    // A database written before schema version 4 has no community_id: unset there.
    const hasId = (store.db.prepare("SELECT count(*) AS n FROM pragma_table_info('flows') WHERE name = 'community_id'").get() as { n: number }).n > 0;
    const stmt = prepareStatement(store, hasId ? sql : sql.replace('f.community_id', 'NULL AS community_id'), opts.db);
    const out: string[] = [];
    const tsv = opts.format === 'zeek';
    const flush = () => {
      if (out.length > 0) process.stdout.write(out.join(''));
      out.length = 0;
    };
    if (tsv) out.push(zeekTsvHeader(Date.now() / 1000));
    for (const r of stmt.iterate(...params) as IterableIterator<ZeekConnRow>) {
      out.push(tsv ? zeekTsvLine(r) : zeekJsonLine(r));
      if (out.length >= 1000) flush();
    }
    if (tsv) out.push(zeekTsvFooter(Date.now() / 1000));
    flush();
    return 0;
  } finally {
    store.close();
  }
}

const ep = (h: Cell, p: Cell): string => (String(h).includes(':') ? `[${h}]:${p}` : `${h}:${p}`);

/** The table that fits a terminal: endpoints as host:port, states, how long, how it ended. */
function compact(columns: string[], rows: Cell[][]): [string[], Cell[][]] {
  const ix = (name: string) => columns.indexOf(name);
  const [id, oh, op, rh, rp, os, rs, ofs, rfs, ck, ff, idle] = [
    'id', 'orig_h', 'orig_p', 'resp_h', 'resp_p', 'orig_state', 'resp_state', 'orig_for_s', 'resp_for_s', 'close_kind', 'first_fin_by', 'idle_before_fin',
  ].map(ix);
  return [
    ['id', 'orig', 'resp', 'orig_state', 'resp_state', 'in_state_s', 'close_kind', 'fin_by', 'idle_s'],
    rows.map((r) => [
      r[id],
      ep(r[oh], r[op]),
      ep(r[rh], r[rp]),
      r[os],
      r[rs],
      // How long the more recent of the two states has lasted at capture end.
      Math.min(Number(r[ofs]), Number(r[rfs])),
      r[ck],
      r[ff],
      r[idle],
    ]),
  ];
}
