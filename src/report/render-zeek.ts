/**
 * Flows as Zeek's conn.log, so zeek-cut and awk scripts, and log shippers
 * that read Zeek's JSON, work on them unchanged: Zeek's field names, order
 * and types for the fields wirestate has (base/protocols/conn/main.zeek, plus
 * the community-id policy's `community_id` at the end), `-` for what it does
 * not know (service, local_orig/local_resp, tunnel_parents).
 *
 * As in Zeek, `duration`, `orig_bytes` and `resp_bytes` are unset for a
 * connection of zero duration (one packet, or all at one timestamp). `uid`
 * is not Zeek's random one: `C` + the capture id + `w` + the flow's row id,
 * stable across exports of one database. Pure: rows in, text out.
 */

/** One flows row as render-zeek needs it (a subset of FlowsRow). */
export interface ZeekConnRow {
  id: number;
  capture_id: number;
  first_ts: number;
  duration: number;
  orig_h: string;
  orig_p: number;
  resp_h: string;
  resp_p: number;
  orig_bytes: number;
  resp_bytes: number;
  conn_state: string;
  missed_bytes: number;
  history: string;
  orig_pkts: number;
  orig_ip_bytes: number;
  resp_pkts: number;
  resp_ip_bytes: number;
  community_id: string | null;
}

/** The SQL column list that yields ZeekConnRow from `flows f`. */
export const ZEEK_CONN_COLUMNS =
  'f.id, f.capture_id, f.first_ts, f.duration, f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.orig_bytes, f.resp_bytes, ' +
  'f.conn_state, f.missed_bytes, f.history, f.orig_pkts, f.orig_ip_bytes, f.resp_pkts, f.resp_ip_bytes, f.community_id';

type Kind = 'time' | 'string' | 'addr' | 'port' | 'enum' | 'interval' | 'count' | 'bool' | 'set[string]';

/** Zeek's conn.log fields in Zeek's order, with their Zeek types. */
const FIELDS: readonly (readonly [string, Kind])[] = [
  ['ts', 'time'],
  ['uid', 'string'],
  ['id.orig_h', 'addr'],
  ['id.orig_p', 'port'],
  ['id.resp_h', 'addr'],
  ['id.resp_p', 'port'],
  ['proto', 'enum'],
  ['service', 'string'],
  ['duration', 'interval'],
  ['orig_bytes', 'count'],
  ['resp_bytes', 'count'],
  ['conn_state', 'string'],
  ['local_orig', 'bool'],
  ['local_resp', 'bool'],
  ['missed_bytes', 'count'],
  ['history', 'string'],
  ['orig_pkts', 'count'],
  ['orig_ip_bytes', 'count'],
  ['resp_pkts', 'count'],
  ['resp_ip_bytes', 'count'],
  ['tunnel_parents', 'set[string]'],
  ['community_id', 'string'],
];

export const ZEEK_CONN_FIELDS: readonly string[] = FIELDS.map(([n]) => n);

/** A field's value; null = unset. Numbers stay numbers (JSON), times are epoch seconds. */
function values(r: ZeekConnRow): (string | number | boolean | null)[] {
  const timed = r.duration > 0;
  return [
    r.first_ts,
    `C${r.capture_id}w${r.id}`,
    r.orig_h,
    r.orig_p,
    r.resp_h,
    r.resp_p,
    'tcp',
    null,
    timed ? r.duration : null,
    timed ? r.orig_bytes : null,
    timed ? r.resp_bytes : null,
    r.conn_state,
    null,
    null,
    r.missed_bytes,
    r.history,
    r.orig_pkts,
    r.orig_ip_bytes,
    r.resp_pkts,
    r.resp_ip_bytes,
    null,
    r.community_id,
  ];
}

/** Zeek's ASCII writer: times and intervals with 6 decimals, '-' unset, '(empty)' for an empty string, separators escaped. */
function tsvValue(v: string | number | boolean | null, kind: Kind): string {
  if (v === null) return '-';
  if (kind === 'time' || kind === 'interval') return (v as number).toFixed(6);
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  const s = String(v);
  if (s === '') return '(empty)';
  if (s === '-') return '\\x2d';
  return s.replace(/\\/g, '\\x5c').replace(/\t/g, '\\x09').replace(/\n/g, '\\x0a');
}

/** "2026-11-27-05-19-15", the stamp of Zeek's #open / #close lines (UTC here). */
function stamp(epochS: number): string {
  const d = new Date(Math.floor(epochS) * 1000).toISOString();
  return `${d.slice(0, 10)}-${d.slice(11, 13)}-${d.slice(14, 16)}-${d.slice(17, 19)}`;
}

/** The header of a conn.log; `openS`: the #open time (epoch seconds). */
export function zeekTsvHeader(openS: number): string {
  return (
    [
      '#separator \\x09',
      '#set_separator\t,',
      '#empty_field\t(empty)',
      '#unset_field\t-',
      '#path\tconn',
      `#open\t${stamp(openS)}`,
      `#fields\t${FIELDS.map(([n]) => n).join('\t')}`,
      `#types\t${FIELDS.map(([, k]) => k).join('\t')}`,
    ].join('\n') + '\n'
  );
}

/** One conn.log line. */
export function zeekTsvLine(r: ZeekConnRow): string {
  const v = values(r);
  return FIELDS.map(([, k], i) => tsvValue(v[i], k)).join('\t') + '\n';
}

export function zeekTsvFooter(closeS: number): string {
  return `#close\t${stamp(closeS)}\n`;
}

/** One line of Zeek's JSON log format (LogAscii::use_json): its field names, unset fields left out, times as epoch seconds. */
export function zeekJsonLine(r: ZeekConnRow): string {
  const v = values(r);
  const o: Record<string, string | number | boolean> = {};
  for (let i = 0; i < FIELDS.length; i++) {
    const x = v[i];
    if (x !== null) o[FIELDS[i][0]] = x;
  }
  return JSON.stringify(o) + '\n';
}
