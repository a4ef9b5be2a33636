/**
 * The database schema as an ordered list of migrations. `PRAGMA user_version`
 * holds the number of the last migration applied. Never edit a released
 * migration: append a new one.
 */

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /**
   * A query that returns a row once the migration is in the database. Given,
   * a database at a later version without it (made while a later-numbered
   * migration had landed first) gets it applied on the next writable open.
   */
  appliedWhen?: string;
}

const V1 = `
CREATE TABLE captures (
  id           INTEGER PRIMARY KEY,
  source       TEXT    NOT NULL,
  kind         TEXT    NOT NULL CHECK (kind IN ('file', 'live')),
  format       TEXT,
  linktypes    TEXT,
  sha256       TEXT,
  first_ts     REAL,
  last_ts      REAL,
  packets      INTEGER,
  tcp_packets  INTEGER,
  bytes        INTEGER,
  flows        INTEGER,
  truncated    INTEGER NOT NULL DEFAULT 0,
  damage       TEXT,
  drops        INTEGER,
  ingested_at  REAL    NOT NULL,
  completed    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE capture_files (
  id          INTEGER PRIMARY KEY,
  capture_id  INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  path        TEXT    NOT NULL,
  sha256      TEXT    NOT NULL UNIQUE,
  format      TEXT,
  size        INTEGER,
  packets     INTEGER,
  first_ts    REAL,
  last_ts     REAL,
  truncated   INTEGER NOT NULL DEFAULT 0,
  damage      TEXT
);
CREATE INDEX capture_files_capture ON capture_files(capture_id);

CREATE TABLE flows (
  id                   INTEGER PRIMARY KEY,
  capture_id           INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
  uid                  INTEGER NOT NULL,
  ip_version           INTEGER NOT NULL,
  orig_h               TEXT    NOT NULL,
  orig_p               INTEGER NOT NULL,
  resp_h               TEXT    NOT NULL,
  resp_p               INTEGER NOT NULL,
  first_ts             REAL    NOT NULL,
  last_ts              REAL    NOT NULL,
  duration             REAL    NOT NULL,
  orig_pkts            INTEGER NOT NULL,
  orig_bytes           INTEGER NOT NULL,
  orig_ip_bytes        INTEGER NOT NULL,
  resp_pkts            INTEGER NOT NULL,
  resp_bytes           INTEGER NOT NULL,
  resp_ip_bytes        INTEGER NOT NULL,
  missed_bytes         INTEGER NOT NULL,
  retransmissions      INTEGER NOT NULL,
  orig_retransmissions INTEGER NOT NULL,
  resp_retransmissions INTEGER NOT NULL,
  orig_out_of_order    INTEGER NOT NULL,
  resp_out_of_order    INTEGER NOT NULL,
  orig_keepalives      INTEGER NOT NULL,
  resp_keepalives      INTEGER NOT NULL,
  orig_zero_windows    INTEGER NOT NULL,
  resp_zero_windows    INTEGER NOT NULL,
  orig_wscale          INTEGER,
  resp_wscale          INTEGER,
  orig_mss             INTEGER,
  resp_mss             INTEGER,
  history              TEXT    NOT NULL,
  conn_state           TEXT    NOT NULL,
  midstream            INTEGER NOT NULL,
  orig_state           TEXT    NOT NULL,
  resp_state           TEXT    NOT NULL,
  orig_state_since     REAL,
  resp_state_since     REAL,
  first_fin_by         TEXT    CHECK (first_fin_by IN ('orig', 'resp')),
  first_fin_ts         REAL,
  idle_before_fin      REAL,
  first_fin_acked      INTEGER NOT NULL,
  peer_fin_sent        INTEGER NOT NULL,
  first_rst_by         TEXT    CHECK (first_rst_by IN ('orig', 'resp')),
  close_kind           TEXT    NOT NULL,
  finished             INTEGER NOT NULL,
  UNIQUE (capture_id, uid)
);
CREATE INDEX flows_orig ON flows(orig_h, orig_p);
CREATE INDEX flows_resp ON flows(resp_h, resp_p);
CREATE INDEX flows_close_kind ON flows(capture_id, close_kind);

-- Clustered by flow: a flow's timeline is one contiguous range, appended in order.
CREATE TABLE transitions (
  flow_id     INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  ts          REAL    NOT NULL,
  endpoint    TEXT    NOT NULL CHECK (endpoint IN ('orig', 'resp')),
  from_state  TEXT    NOT NULL,
  to_state    TEXT    NOT NULL,
  cause       TEXT    NOT NULL,
  PRIMARY KEY (flow_id, seq)
) WITHOUT ROWID;
CREATE INDEX transitions_time_wait ON transitions(flow_id) WHERE to_state = 'TIME_WAIT';

CREATE TABLE anomalies (
  id          INTEGER PRIMARY KEY,
  capture_id  INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
  flow_id     INTEGER REFERENCES flows(id) ON DELETE CASCADE,
  name        TEXT    NOT NULL,
  count       INTEGER NOT NULL
);
CREATE INDEX anomalies_capture ON anomalies(capture_id);

CREATE TABLE socket_owners (
  id          INTEGER PRIMARY KEY,
  flow_id     INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  endpoint    TEXT    NOT NULL CHECK (endpoint IN ('orig', 'resp')),
  pid         INTEGER NOT NULL,
  command     TEXT    NOT NULL
);
CREATE INDEX socket_owners_flow ON socket_owners(flow_id);

-- End of each capture: its last packet, or (live, still running) its newest flow.
CREATE VIEW capture_end AS
SELECT c.id AS capture_id,
       COALESCE(c.last_ts, (SELECT max(f.last_ts) FROM flows f WHERE f.capture_id = c.id)) AS end_ts
FROM captures c;

CREATE VIEW close_wait AS
SELECT f.id AS flow_id,
       f.capture_id,
       CASE WHEN f.orig_state = 'CLOSE_WAIT' THEN 'orig' ELSE 'resp' END AS stuck_side,
       CASE WHEN f.orig_state = 'CLOSE_WAIT' THEN f.orig_h ELSE f.resp_h END AS stuck_h,
       CASE WHEN f.orig_state = 'CLOSE_WAIT' THEN f.orig_p ELSE f.resp_p END AS stuck_p,
       CASE WHEN f.orig_state = 'CLOSE_WAIT' THEN f.resp_h ELSE f.orig_h END AS peer_h,
       CASE WHEN f.orig_state = 'CLOSE_WAIT' THEN f.resp_p ELSE f.orig_p END AS peer_p,
       CASE WHEN f.orig_state = 'CLOSE_WAIT' THEN f.resp_state ELSE f.orig_state END AS peer_state,
       CASE WHEN f.orig_state = 'CLOSE_WAIT' THEN f.orig_state_since ELSE f.resp_state_since END AS since_ts,
       e.end_ts - CASE WHEN f.orig_state = 'CLOSE_WAIT' THEN f.orig_state_since ELSE f.resp_state_since END AS stuck_s,
       f.idle_before_fin,
       f.close_kind
FROM flows f JOIN capture_end e ON e.capture_id = f.capture_id
WHERE f.orig_state = 'CLOSE_WAIT' OR f.resp_state = 'CLOSE_WAIT';

CREATE VIEW incomplete_closes AS
SELECT f.id AS flow_id,
       f.capture_id,
       f.close_kind,
       f.first_fin_by,
       CASE f.first_fin_by WHEN 'orig' THEN f.orig_h WHEN 'resp' THEN f.resp_h END AS closer_h,
       CASE f.first_fin_by WHEN 'orig' THEN f.orig_p WHEN 'resp' THEN f.resp_p END AS closer_p,
       CASE f.first_fin_by WHEN 'orig' THEN f.resp_h WHEN 'resp' THEN f.orig_h END AS other_h,
       CASE f.first_fin_by WHEN 'orig' THEN f.resp_p WHEN 'resp' THEN f.orig_p END AS other_p,
       f.first_fin_ts,
       f.idle_before_fin,
       f.first_fin_acked,
       f.peer_fin_sent,
       f.first_rst_by,
       f.orig_h, f.orig_p, f.resp_h, f.resp_p,
       f.orig_state, f.resp_state
FROM flows f
WHERE f.close_kind IN ('close_wait', 'fin_unacked', 'last_ack_unacked', 'reset_after_half_close')
   OR (f.first_fin_by IS NOT NULL AND f.close_kind NOT IN ('normal', 'open'));

CREATE VIEW time_wait AS
SELECT t.flow_id,
       f.capture_id,
       t.endpoint,
       CASE t.endpoint WHEN 'orig' THEN f.orig_h ELSE f.resp_h END AS tw_h,
       CASE t.endpoint WHEN 'orig' THEN f.orig_p ELSE f.resp_p END AS tw_p,
       CASE t.endpoint WHEN 'orig' THEN f.resp_h ELSE f.orig_h END AS peer_h,
       CASE t.endpoint WHEN 'orig' THEN f.resp_p ELSE f.orig_p END AS peer_p,
       t.ts AS since_ts,
       (CASE t.endpoint WHEN 'orig' THEN f.orig_state ELSE f.resp_state END) = 'TIME_WAIT' AS at_end,
       f.first_fin_by,
       (f.first_fin_by = t.endpoint) AS closed_first
FROM transitions t JOIN flows f ON f.id = t.flow_id
WHERE t.to_state = 'TIME_WAIT';
`;

/**
 * Version 2: a flow's transitions are stored as ONE row, integer-coded,
 * instead of one row each (about ten per flow; they were most of the ingest's
 * SQLite work). `transitions` becomes a view with exactly the v1 columns and
 * values, so queries are unchanged; `time_wait` reads only the flows that have
 * a TIME_WAIT transition (flow_transitions.time_wait, set at write time).
 *
 * flow_transitions.data is a JSON array with one element per transition, in
 * order: [dt_us, endpoint, from, to, cause] — dt_us the integer microseconds
 * since base_us (the flow's first transition time), endpoint 0 = orig / 1 = resp,
 * from/to/cause ids in transition_words (state names and causes). The view
 * yields ts = (base_us + dt_us) / 1e6, the same REAL v1 stored.
 */
const V2 = `
CREATE TABLE transition_words (
  id          INTEGER PRIMARY KEY,
  word        TEXT    NOT NULL UNIQUE
);

CREATE TABLE flow_transitions (
  flow_id     INTEGER PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
  time_wait   INTEGER NOT NULL DEFAULT 0,
  base_us     INTEGER NOT NULL,
  data        TEXT    NOT NULL
);
CREATE INDEX flow_transitions_time_wait ON flow_transitions(flow_id) WHERE time_wait = 1;

INSERT INTO transition_words (word)
SELECT from_state FROM transitions UNION SELECT to_state FROM transitions UNION SELECT cause FROM transitions;

INSERT INTO flow_transitions (flow_id, time_wait, base_us, data)
SELECT t.flow_id,
       max(t.to_state = 'TIME_WAIT'),
       b.base_us,
       json_group_array(json_array(
         CAST(round(t.ts * 1e6) AS INTEGER) - b.base_us,
         CASE t.endpoint WHEN 'orig' THEN 0 ELSE 1 END,
         (SELECT id FROM transition_words WHERE word = t.from_state),
         (SELECT id FROM transition_words WHERE word = t.to_state),
         (SELECT id FROM transition_words WHERE word = t.cause)) ORDER BY t.seq)
FROM transitions t
JOIN (SELECT flow_id, min(CAST(round(ts * 1e6) AS INTEGER)) AS base_us FROM transitions GROUP BY flow_id) b ON b.flow_id = t.flow_id
GROUP BY t.flow_id;

DROP VIEW time_wait;
DROP INDEX transitions_time_wait;
DROP TABLE transitions;

CREATE VIEW transitions AS
SELECT ft.flow_id                        AS flow_id,
       j.key                             AS seq,
       (ft.base_us + (json_extract(j.value, '$[0]'))) / 1e6 AS ts,
       CASE json_extract(j.value, '$[1]') WHEN 0 THEN 'orig' ELSE 'resp' END AS endpoint,
       wf.word                           AS from_state,
       wt.word                           AS to_state,
       wc.word                           AS cause
FROM flow_transitions ft
JOIN json_each(ft.data) j
JOIN transition_words wf ON wf.id = json_extract(j.value, '$[2]')
JOIN transition_words wt ON wt.id = json_extract(j.value, '$[3]')
JOIN transition_words wc ON wc.id = json_extract(j.value, '$[4]');

CREATE VIEW time_wait AS
SELECT t.flow_id,
       f.capture_id,
       t.endpoint,
       CASE t.endpoint WHEN 'orig' THEN f.orig_h ELSE f.resp_h END AS tw_h,
       CASE t.endpoint WHEN 'orig' THEN f.orig_p ELSE f.resp_p END AS tw_p,
       CASE t.endpoint WHEN 'orig' THEN f.resp_h ELSE f.orig_h END AS peer_h,
       CASE t.endpoint WHEN 'orig' THEN f.resp_p ELSE f.orig_p END AS peer_p,
       t.ts AS since_ts,
       (CASE t.endpoint WHEN 'orig' THEN f.orig_state ELSE f.resp_state END) = 'TIME_WAIT' AS at_end,
       f.first_fin_by,
       (f.first_fin_by = t.endpoint) AS closed_first
FROM (SELECT ft.flow_id AS flow_id,
             CASE json_extract(j.value, '$[1]') WHEN 0 THEN 'orig' ELSE 'resp' END AS endpoint,
             (ft.base_us + (json_extract(j.value, '$[0]'))) / 1e6 AS ts
      FROM flow_transitions ft, json_each(ft.data) j
      WHERE ft.time_wait = 1
        AND json_extract(j.value, '$[3]') = (SELECT id FROM transition_words WHERE word = 'TIME_WAIT')) t
JOIN flows f ON f.id = t.flow_id;
`;

/**
 * Version 3: the state timeline, as views over the stored transitions (no
 * table: nothing is written at ingest or flush, so it costs ingest nothing
 * and a live capture's timeline is as current as its last flush).
 *
 * state_stays: one row per transition = the endpoint's stay in to_state,
 * from its ts to the endpoint's next transition (to_ts NULL: still in the
 * state at capture end). Transitions later than capture_end (a live flush
 * racing last_ts) are left out.
 *
 * timeline_resolution: per capture, bucket_us NULL (exact change points)
 * when it holds at most 500 flows, otherwise the smallest round
 * width (1 ms ... 1 day, then whole days) giving at most 400 buckets.
 * src/store/state-timeline.ts (defaultBucketUs) applies the same rule.
 *
 * state_timeline: endpoints per state over time, for group_kind 'all' (grp
 * 'all'), 'service' (grp = the flow's responder "h:p" / "[h6]:p") and
 * 'host' (grp = the endpoint's own address). UNKNOWN and CLOSED are not
 * counted. Exact: one row per instant a count changes (count = min = max,
 * just after the change). Bucketed: one row per bucket in which it changed
 * (ts = bucket start; count = at the bucket's end; min/max within it,
 * including the level it entered with); a bucket without a row has the
 * count of the row before. Decodes every transition of the captures it
 * reads: filter on capture_id.
 */
const V3 = `
CREATE VIEW state_stays AS
SELECT t.flow_id,
       f.capture_id,
       t.endpoint,
       CASE t.endpoint WHEN 'orig' THEN f.orig_h ELSE f.resp_h END AS h,
       CASE t.endpoint WHEN 'orig' THEN f.orig_p ELSE f.resp_p END AS p,
       f.resp_h AS service_h,
       f.resp_p AS service_p,
       t.to_state AS state,
       t.ts AS from_ts,
       lead(t.ts) OVER (PARTITION BY f.capture_id, t.flow_id, t.endpoint ORDER BY t.seq) AS to_ts
FROM transitions t
JOIN flows f ON f.id = t.flow_id
JOIN capture_end e ON e.capture_id = f.capture_id
WHERE e.end_ts IS NULL OR t.ts <= e.end_ts;

CREATE VIEW timeline_resolution AS
WITH spans AS (
  SELECT c.id AS capture_id,
         CAST(round(COALESCE(c.first_ts, (SELECT min(f.first_ts) FROM flows f WHERE f.capture_id = c.id)) * 1e6) AS INTEGER) AS start_us,
         CAST(round(e.end_ts * 1e6) AS INTEGER) AS end_us,
         (SELECT count(*) FROM flows f WHERE f.capture_id = c.id) AS flows
  FROM captures c JOIN capture_end e ON e.capture_id = c.id
),
steps(us) AS (VALUES (1000), (2000), (5000), (10000), (20000), (50000), (100000), (200000), (500000), (1000000),
  (2000000), (5000000), (10000000), (15000000), (30000000), (60000000), (120000000), (300000000), (600000000),
  (900000000), (1800000000), (3600000000), (7200000000), (10800000000), (21600000000), (43200000000), (86400000000))
SELECT s.capture_id, s.start_us, s.end_us, s.flows,
       CASE WHEN s.flows <= 500 THEN NULL
            ELSE COALESCE((SELECT min(us) FROM steps WHERE us >= (s.end_us - s.start_us) / 400.0),
                          ((s.end_us - s.start_us + 400 * 86400000000 - 1) / (400 * 86400000000)) * 86400000000) END AS bucket_us
FROM spans s;

CREATE VIEW state_timeline AS
WITH res AS MATERIALIZED (SELECT * FROM timeline_resolution),
counted AS MATERIALIZED (
  SELECT capture_id, state, h,
         CASE WHEN instr(service_h, ':') > 0 THEN '[' || service_h || ']:' ELSE service_h || ':' END || service_p AS service,
         CAST(round(from_ts * 1e6) AS INTEGER) AS from_us,
         CAST(round(to_ts * 1e6) AS INTEGER) AS to_us
  FROM state_stays WHERE state NOT IN ('UNKNOWN', 'CLOSED')
),
deltas AS MATERIALIZED (
  SELECT capture_id, state, h, service, from_us AS t_us, 1 AS d FROM counted
  UNION ALL
  SELECT capture_id, state, h, service, to_us, -1 FROM counted WHERE to_us IS NOT NULL
),
instants AS (
  SELECT capture_id, 'all' AS group_kind, 'all' AS grp, state, t_us, sum(d) AS d FROM deltas GROUP BY capture_id, state, t_us HAVING sum(d) <> 0
  UNION ALL
  SELECT capture_id, 'service', service, state, t_us, sum(d) FROM deltas GROUP BY capture_id, service, state, t_us HAVING sum(d) <> 0
  UNION ALL
  SELECT capture_id, 'host', h, state, t_us, sum(d) FROM deltas GROUP BY capture_id, h, state, t_us HAVING sum(d) <> 0
),
running AS (
  SELECT i.*, sum(d) OVER (PARTITION BY capture_id, group_kind, grp, state ORDER BY t_us) AS count FROM instants i
),
placed AS (
  SELECT r.capture_id, r.group_kind, r.grp, r.state, r.t_us, r.count, r.count - r.d AS before, res.bucket_us,
         CASE WHEN res.bucket_us IS NULL THEN r.t_us
              ELSE res.start_us + res.bucket_us * min(max(r.t_us - res.start_us, 0) / res.bucket_us,
                                                      max(1, (res.end_us - res.start_us + res.bucket_us - 1) / res.bucket_us) - 1) END AS b_us
  FROM running r JOIN res ON res.capture_id = r.capture_id
),
lasts AS (
  SELECT p.*, last_value(count) OVER (PARTITION BY capture_id, group_kind, grp, state, b_us ORDER BY t_us
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_count
  FROM placed p
)
SELECT capture_id,
       b_us / 1e6 AS ts,
       bucket_us / 1e6 AS bucket_s,
       group_kind,
       grp,
       state,
       max(last_count) AS count,
       min(CASE WHEN bucket_us IS NULL THEN count ELSE min(before, count) END) AS min,
       max(CASE WHEN bucket_us IS NULL THEN count ELSE max(before, count) END) AS max
FROM lasts
GROUP BY capture_id, group_kind, grp, state, b_us;
`;

/**
 * Version 4 (issue 12): `flows.community_id`, the Community ID v1 of the
 * 4-tuple, so flows join with Zeek, Suricata and Arkime records; and the
 * capture-loss estimate's counts per capture (Zeek's capture-loss script):
 * `captures.loss_acked_bytes`, bytes acknowledged while both endpoints were
 * established, and `captures.loss_gap_bytes`, those among them the capture
 * never showed (snaplen-cut payload left out). NULL for rows written before.
 */
const V4 = `
ALTER TABLE flows ADD COLUMN community_id TEXT;
ALTER TABLE captures ADD COLUMN loss_acked_bytes INTEGER;
ALTER TABLE captures ADD COLUMN loss_gap_bytes INTEGER;
`;

/**
 * Version 5: what the capture could see and where it was taken (issue 16).
 *
 * flows.captured_only: 'orig' / 'resp' when only that endpoint's packets
 * were captured while they acknowledge sequence space of its peer (one
 * direction only: asymmetric routing, a one-way mirror port, tcpdump -Q);
 * NULL when both directions were seen. *_state_inferred / close_kind_inferred:
 * the value rests on packets the capture did not show (the endpoint sent
 * nothing captured, or its FIN was inferred from its peer's ACK). vantage:
 * where the flow was captured, from the handshake's two half-RTTs
 * rtt_to_orig (SYN+ACK -> ACK) and rtt_to_resp (SYN -> SYN+ACK), seconds:
 * 'orig', 'resp', 'between', NULL without a clean handshake.
 *
 * incomplete_closes leaves out close_kind 'unknown' (same columns).
 *
 * capture_vantage: per capture, how many flows were seen one direction only
 * (either way) or both ways, how many handshakes were measured, the
 * vantage votes, and the capture's vantage
 * (the majority of its flows' estimates; NULL on a tie or without any).
 */
const V5 = `
ALTER TABLE flows ADD COLUMN captured_only TEXT CHECK (captured_only IN ('orig', 'resp'));
ALTER TABLE flows ADD COLUMN orig_state_inferred INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flows ADD COLUMN resp_state_inferred INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flows ADD COLUMN close_kind_inferred INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flows ADD COLUMN vantage TEXT CHECK (vantage IN ('orig', 'resp', 'between'));
ALTER TABLE flows ADD COLUMN rtt_to_orig REAL;
ALTER TABLE flows ADD COLUMN rtt_to_resp REAL;

CREATE VIEW capture_vantage AS
SELECT v.*,
       CASE WHEN v.at_orig > v.at_resp AND v.at_orig > v.in_between THEN 'orig'
            WHEN v.at_resp > v.at_orig AND v.at_resp > v.in_between THEN 'resp'
            WHEN v.in_between > v.at_orig AND v.in_between > v.at_resp THEN 'between' END AS vantage
FROM (SELECT c.id AS capture_id,
             count(f.id) AS flows,
             count(f.id) FILTER (WHERE f.captured_only = 'orig') AS orig_only,
             count(f.id) FILTER (WHERE f.captured_only = 'resp') AS resp_only,
             count(f.id) FILTER (WHERE f.orig_pkts > 0 AND f.resp_pkts > 0) AS both_ways,
             count(f.id) FILTER (WHERE f.rtt_to_orig IS NOT NULL) AS measured,
             count(f.id) FILTER (WHERE f.vantage = 'orig') AS at_orig,
             count(f.id) FILTER (WHERE f.vantage = 'resp') AS at_resp,
             count(f.id) FILTER (WHERE f.vantage = 'between') AS in_between
      FROM captures c LEFT JOIN flows f ON f.capture_id = c.id
      GROUP BY c.id) v;

-- 'unknown' (one direction only, the end not visible) is not an incomplete close: nothing shows it did not finish.
DROP VIEW incomplete_closes;
CREATE VIEW incomplete_closes AS
SELECT f.id AS flow_id,
       f.capture_id,
       f.close_kind,
       f.first_fin_by,
       CASE f.first_fin_by WHEN 'orig' THEN f.orig_h WHEN 'resp' THEN f.resp_h END AS closer_h,
       CASE f.first_fin_by WHEN 'orig' THEN f.orig_p WHEN 'resp' THEN f.resp_p END AS closer_p,
       CASE f.first_fin_by WHEN 'orig' THEN f.resp_h WHEN 'resp' THEN f.orig_h END AS other_h,
       CASE f.first_fin_by WHEN 'orig' THEN f.resp_p WHEN 'resp' THEN f.orig_p END AS other_p,
       f.first_fin_ts,
       f.idle_before_fin,
       f.first_fin_acked,
       f.peer_fin_sent,
       f.first_rst_by,
       f.orig_h, f.orig_p, f.resp_h, f.resp_p,
       f.orig_state, f.resp_state
FROM flows f
WHERE f.close_kind IN ('close_wait', 'fin_unacked', 'last_ack_unacked', 'reset_after_half_close')
   OR (f.first_fin_by IS NOT NULL AND f.close_kind NOT IN ('normal', 'open', 'unknown'));
`;

/**
 * Version 6: application-layer facts (src/app/), one row per flow that
 * carried HTTP/1.x or TLS, written in the same transaction as the flow.
 * The exchanges of a flow are stored in ONE column (http_flows.exchanges, a
 * JSON array, one element per request/response pair: [request_dt_us,
 * first_response_dt_us, response_end_dt_us, method, status,
 * request_body_bytes, response_body_bytes], the times as integer
 * microseconds since exchanges_base_us, null when unknown); the view
 * http_exchanges has one row per exchange with REAL Unix-second times (the
 * same layout choice as flow_transitions, for ingest speed).
 */
const V6 = `
CREATE TABLE http_flows (
  flow_id                    INTEGER PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
  protocol                   TEXT    NOT NULL CHECK (protocol IN ('http', 'tls')),
  requests                   INTEGER NOT NULL,
  responses                  INTEGER NOT NULL,
  first_exchange_ts          REAL,
  last_exchange_ts           REAL,
  user_agent                 TEXT,
  server                     TEXT,
  host                       TEXT,
  connection_close_by        TEXT    CHECK (connection_close_by IN ('orig', 'resp', 'both')),
  keepalive_timeout          REAL,
  keepalive_max              INTEGER,
  longest_reuse_idle         REAL,
  tls_sni                    TEXT,
  heads_truncated_by_snaplen INTEGER NOT NULL,
  parse_stop                 TEXT,
  close_kind                 TEXT    CHECK (close_kind IN ('keepalive_race')),
  race_requests              INTEGER NOT NULL,
  fin_to_request             REAL,
  exchanges_dropped          INTEGER NOT NULL,
  exchanges_base_us          INTEGER,
  exchanges                  TEXT    NOT NULL
);

CREATE VIEW http_exchanges AS
SELECT h.flow_id                          AS flow_id,
       j.key                              AS seq,
       (h.exchanges_base_us + json_extract(j.value, '$[0]')) / 1e6 AS request_ts,
       (h.exchanges_base_us + json_extract(j.value, '$[1]')) / 1e6 AS first_response_ts,
       (h.exchanges_base_us + json_extract(j.value, '$[2]')) / 1e6 AS response_end_ts,
       json_extract(j.value, '$[3]')      AS method,
       json_extract(j.value, '$[4]')      AS status,
       json_extract(j.value, '$[5]')      AS request_body_bytes,
       json_extract(j.value, '$[6]')      AS response_body_bytes
FROM http_flows h JOIN json_each(h.exchanges) j;
`;

/**
 * Version 7: where each capture stands with each export sink (src/export/).
 * One row per (sink, host label, capture): every flow with id <= done_id has
 * been sent in its final (finished) form; synced_ts is the capture's last_ts
 * as of the last export that left nothing of the capture unsent (so the
 * lag is captures.last_ts - synced_ts); complete = the finished capture is
 * all sent. The sink is a URL without credentials.
 */
const V7 = `
CREATE TABLE export_cursors (
  sink        TEXT    NOT NULL,
  host        TEXT    NOT NULL,
  capture_id  INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
  done_id     INTEGER NOT NULL DEFAULT 0,
  synced_ts   REAL,
  rows_sent   INTEGER NOT NULL DEFAULT 0,
  complete    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  updated_at  REAL    NOT NULL,
  PRIMARY KEY (sink, host, capture_id)
);
`;

/**
 * Version 8: the keep-alive race answered by a bare RST (issue 11).
 * http_flows.race_signal names the server's close signal a keepalive_race
 * request met ('fin' or 'rst'), signal_to_request the seconds from it to the
 * first such request (negative: the request was on the wire first).
 * fin_to_request stays the FIN's, NULL for an RST race. Every race stored
 * before this version was a FIN race: they get 'fin' and their delay.
 */
const V8 = `
ALTER TABLE http_flows ADD COLUMN race_signal TEXT CHECK (race_signal IN ('fin', 'rst'));
ALTER TABLE http_flows ADD COLUMN signal_to_request REAL;
UPDATE http_flows SET race_signal = 'fin', signal_to_request = fin_to_request WHERE close_kind = 'keepalive_race';
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'captures, flows, transitions, anomalies, socket owners, views', sql: V1 },
  { version: 2, description: 'transitions stored one row per flow (flow_transitions); transitions becomes a view', sql: V2 },
  {
    version: 3,
    description: 'state timeline views: state_stays, timeline_resolution, state_timeline',
    sql: V3,
    appliedWhen: "SELECT 1 FROM sqlite_schema WHERE type = 'view' AND name = 'state_timeline'",
  },
  { version: 4, description: 'flows.community_id; captures.loss_acked_bytes / loss_gap_bytes (capture-loss estimate)', sql: V4 },
  { version: 5, description: 'one-direction captures, inferred states, vantage point (flows columns, capture_vantage view)', sql: V5 },
  { version: 6, description: 'HTTP/1.x and TLS facts per flow (http_flows) and per exchange (http_exchanges view)', sql: V6 },
  { version: 7, description: 'export_cursors: what each capture has sent to each export sink', sql: V7 },
  { version: 8, description: 'http_flows.race_signal / signal_to_request: keep-alive races answered by FIN or by a bare RST', sql: V8 },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
