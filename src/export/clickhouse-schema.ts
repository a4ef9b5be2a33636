import { versionAtLeast, type ServerVersion } from './clickhouse-sink';
import { ExportError } from './export-error';

/**
 * The ClickHouse side of the store: the SQLite tables under the same names
 * and column names, plus `host` (the capturing machine) on every row and a
 * `ver` where a row is re-sent as it changes. Only what ClickHouse 18.16
 * already had is used (MergeTree, ReplacingMergeTree, Nullable, plain
 * views), so one schema serves 18.16 and 24.x alike.
 *
 * Re-sending is harmless: a ReplacingMergeTree keeps one row per sorting
 * key (the newest `ver`) once parts merge; read with FINAL (the views do)
 * to see that row before they have.
 */

export type ColumnType = 'String' | 'Int64' | 'UInt8' | 'Float64' | 'UInt64' | 'Nullable(String)' | 'Nullable(Int64)' | 'Nullable(Float64)';

export interface TableSpec {
  name: string;
  /** Columns read from SQLite under the same name (host and ver are added by the exporter). */
  columns: ReadonlyArray<readonly [string, ColumnType]>;
  engine: string;
  /** Seconds column whose UTC day is the partition. */
  dayOf: string;
  orderBy: readonly string[];
}

const S = 'String';
const I = 'Int64';
const F = 'Float64';
const B = 'UInt8';
const NS = 'Nullable(String)';
const NI = 'Nullable(Int64)';
const NF = 'Nullable(Float64)';

export const CAPTURES: TableSpec = {
  name: 'captures',
  columns: [
    ['id', I], ['source', S], ['kind', S], ['format', NS], ['linktypes', NS], ['sha256', NS],
    ['first_ts', NF], ['last_ts', NF], ['packets', NI], ['tcp_packets', NI], ['bytes', NI], ['flows', NI],
    ['truncated', B], ['damage', NS], ['drops', NI], ['ingested_at', F], ['completed', B],
  ],
  engine: 'ReplacingMergeTree(ver)',
  dayOf: 'ingested_at',
  orderBy: ['host', 'ingested_at', 'id'],
};

export const FLOWS: TableSpec = {
  name: 'flows',
  columns: [
    ['id', I], ['capture_id', I], ['uid', I], ['ip_version', B],
    ['orig_h', S], ['orig_p', I], ['resp_h', S], ['resp_p', I],
    ['first_ts', F], ['last_ts', F], ['duration', F],
    ['orig_pkts', I], ['orig_bytes', I], ['orig_ip_bytes', I], ['resp_pkts', I], ['resp_bytes', I], ['resp_ip_bytes', I],
    ['missed_bytes', I], ['retransmissions', I], ['orig_retransmissions', I], ['resp_retransmissions', I],
    ['orig_out_of_order', I], ['resp_out_of_order', I], ['orig_keepalives', I], ['resp_keepalives', I],
    ['orig_zero_windows', I], ['resp_zero_windows', I],
    ['orig_wscale', NI], ['resp_wscale', NI], ['orig_mss', NI], ['resp_mss', NI],
    ['history', S], ['conn_state', S], ['midstream', B], ['orig_state', S], ['resp_state', S],
    ['orig_state_since', NF], ['resp_state_since', NF],
    ['first_fin_by', NS], ['first_fin_ts', NF], ['idle_before_fin', NF], ['first_fin_acked', B], ['peer_fin_sent', B],
    ['first_rst_by', NS], ['close_kind', S], ['finished', B],
    ['community_id', NS], ['captured_only', NS], ['orig_state_inferred', B], ['resp_state_inferred', B], ['close_kind_inferred', B],
    ['vantage', NS], ['rtt_to_orig', NF], ['rtt_to_resp', NF],
  ],
  engine: 'ReplacingMergeTree(ver)',
  // first_ts never changes for a flow (its first packet), so every version of a flow lands in one partition and key.
  dayOf: 'first_ts',
  orderBy: ['host', 'first_ts', 'capture_id', 'uid'],
};

export const TRANSITIONS: TableSpec = {
  name: 'transitions',
  columns: [
    ['flow_id', I], ['capture_id', I], ['uid', I], ['seq', I], ['ts', F],
    ['endpoint', S], ['from_state', S], ['to_state', S], ['cause', S],
  ],
  // A transition never changes once it happened: a re-sent one is the same row.
  engine: 'ReplacingMergeTree',
  dayOf: 'ts',
  orderBy: ['host', 'ts', 'capture_id', 'uid', 'seq'],
};

/**
 * SQLite's state_timeline (endpoints per state over a capture, per group),
 * sent once a capture is complete: its resolution no longer changes then, so
 * a re-send has the same keys.
 */
export const STATE_TIMELINE: TableSpec = {
  name: 'state_timeline',
  columns: [
    ['capture_id', I], ['ts', F], ['bucket_s', NF], ['group_kind', S], ['grp', S], ['state', S],
    ['count', I], ['min', I], ['max', I],
  ],
  engine: 'ReplacingMergeTree(ver)',
  dayOf: 'ts',
  orderBy: ['host', 'capture_id', 'group_kind', 'grp', 'state', 'ts'],
};

export const TABLES: readonly TableSpec[] = [CAPTURES, FLOWS, TRANSITIONS, STATE_TIMELINE];

/** Tables whose rows carry a `ver` (re-sent as they change). */
export function hasVersion(t: TableSpec): boolean {
  return t.engine.includes('(ver)');
}

/** Newer-server features wirestate may use, and the first version that has each. */
export const FEATURES = {
  ttl: { name: 'TTL', since: [19, 6] },
} as const;

export function requireFeature(version: string, v: ServerVersion, feature: keyof typeof FEATURES, where: string): void {
  const f = FEATURES[feature];
  if (!versionAtLeast(v, f.since)) {
    throw new ExportError('too_old', `${where}: ${f.name} needs ClickHouse ${f.since.join('.')} or later; the server is ${version}`);
  }
}

export interface SchemaOptions {
  /** Drop rows older than this many days (TTL; ClickHouse 19.6+). */
  ttlDays?: number;
}

function dayExpr(col: string): string {
  return `toDate(toDateTime(toUInt32(${col})))`;
}

export function createTableSql(t: TableSpec, opts: SchemaOptions = {}): string {
  const cols = [['host', 'String'] as const, ...t.columns, ...(hasVersion(t) ? [['ver', 'UInt64'] as const] : [])];
  const ttl = opts.ttlDays !== undefined ? `\nTTL toDateTime(toUInt32(${t.dayOf})) + INTERVAL ${opts.ttlDays} DAY` : '';
  return (
    `CREATE TABLE IF NOT EXISTS ${t.name} (\n` +
    cols.map(([n, ty]) => `  ${n} ${ty}`).join(',\n') +
    `\n) ENGINE = ${t.engine}\nPARTITION BY ${dayExpr(t.dayOf)}\nORDER BY (${t.orderBy.join(', ')})${ttl}`
  );
}

/**
 * The SQLite views with the same columns and meaning, per host. Where
 * SQLite's capture_end falls back to the newest flow of a live capture
 * whose row has no last_ts yet, this one falls back to the capture's
 * first packet (a live capture's row gets last_ts at its first flush).
 */
export const VIEWS: ReadonlyArray<readonly [string, string]> = [
  [
    'capture_end',
    `SELECT host, id AS capture_id, ifNull(last_ts, ifNull(first_ts, ingested_at)) AS end_ts FROM captures FINAL`,
  ],
  [
    'close_wait',
    `SELECT host, id AS flow_id, capture_id,
       if(orig_state = 'CLOSE_WAIT', 'orig', 'resp') AS stuck_side,
       if(orig_state = 'CLOSE_WAIT', orig_h, resp_h) AS stuck_h,
       if(orig_state = 'CLOSE_WAIT', orig_p, resp_p) AS stuck_p,
       if(orig_state = 'CLOSE_WAIT', resp_h, orig_h) AS peer_h,
       if(orig_state = 'CLOSE_WAIT', resp_p, orig_p) AS peer_p,
       if(orig_state = 'CLOSE_WAIT', resp_state, orig_state) AS peer_state,
       if(orig_state = 'CLOSE_WAIT', orig_state_since, resp_state_since) AS since_ts,
       end_ts - if(orig_state = 'CLOSE_WAIT', orig_state_since, resp_state_since) AS stuck_s,
       idle_before_fin, close_kind
     FROM (SELECT * FROM flows FINAL WHERE orig_state = 'CLOSE_WAIT' OR resp_state = 'CLOSE_WAIT')
     ANY INNER JOIN capture_end USING (host, capture_id)`,
  ],
  [
    'incomplete_closes',
    `SELECT host, id AS flow_id, capture_id, close_kind, first_fin_by,
       multiIf(first_fin_by = 'orig', orig_h, first_fin_by = 'resp', resp_h, NULL) AS closer_h,
       multiIf(first_fin_by = 'orig', orig_p, first_fin_by = 'resp', resp_p, NULL) AS closer_p,
       multiIf(first_fin_by = 'orig', resp_h, first_fin_by = 'resp', orig_h, NULL) AS other_h,
       multiIf(first_fin_by = 'orig', resp_p, first_fin_by = 'resp', orig_p, NULL) AS other_p,
       first_fin_ts, idle_before_fin, first_fin_acked, peer_fin_sent, first_rst_by,
       orig_h, orig_p, resp_h, resp_p, orig_state, resp_state
     FROM flows FINAL
     WHERE close_kind IN ('close_wait', 'fin_unacked', 'last_ack_unacked', 'reset_after_half_close')
        OR (first_fin_by IS NOT NULL AND close_kind NOT IN ('normal', 'open', 'unknown'))`,
  ],
  [
    'time_wait',
    `SELECT host, flow_id, capture_id, endpoint,
       if(endpoint = 'orig', orig_h, resp_h) AS tw_h,
       if(endpoint = 'orig', orig_p, resp_p) AS tw_p,
       if(endpoint = 'orig', resp_h, orig_h) AS peer_h,
       if(endpoint = 'orig', resp_p, orig_p) AS peer_p,
       since_ts,
       if(endpoint = 'orig', orig_state, resp_state) = 'TIME_WAIT' AS at_end,
       first_fin_by,
       ifNull(first_fin_by = endpoint, 0) AS closed_first
     FROM (SELECT host, capture_id, flow_id, endpoint, ts AS since_ts FROM transitions FINAL WHERE to_state = 'TIME_WAIT')
     ANY INNER JOIN (SELECT host, capture_id, id AS flow_id, orig_h, orig_p, resp_h, resp_p, orig_state, resp_state, first_fin_by FROM flows FINAL)
     USING (host, capture_id, flow_id)`,
  ],
];

/** Every statement `clickhouse init` runs, in order (idempotent: IF NOT EXISTS; views are replaced). */
export function schemaStatements(opts: SchemaOptions = {}): string[] {
  const out = TABLES.map((t) => createTableSql(t, opts));
  for (const [name, sql] of VIEWS) {
    out.push(`DROP TABLE IF EXISTS ${name}`);
    out.push(`CREATE VIEW ${name} AS ${sql}`);
  }
  return out;
}
