import type Database from 'better-sqlite3';

/**
 * For migration tests: a flows row as an older version wrote it, through SQL
 * with the columns of schema version 1 (every later version only added
 * columns with defaults), in capture 1, between 10.77.9.2 and 10.77.9.1:80.
 * The statement's parameters: id, uid, orig_p, orig_state, resp_state,
 * first_fin_by, close_kind.
 */
export function prepareOldFlowInsert(db: Database.Database): Database.Statement {
  return db.prepare(`INSERT INTO flows (id, capture_id, uid, ip_version, orig_h, orig_p, resp_h, resp_p, first_ts, last_ts, duration,
      orig_pkts, orig_bytes, orig_ip_bytes, resp_pkts, resp_bytes, resp_ip_bytes, missed_bytes, retransmissions, orig_retransmissions, resp_retransmissions,
      orig_out_of_order, resp_out_of_order, orig_keepalives, resp_keepalives, orig_zero_windows, resp_zero_windows, history, conn_state, midstream,
      orig_state, resp_state, first_fin_by, first_fin_acked, peer_fin_sent, close_kind, finished)
    VALUES (?, 1, ?, 4, '10.77.9.2', ?, '10.77.9.1', 80, 1764000000.0, 1764000066.0, 66.0, 5, 10, 300, 5, 20, 320, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      'ShADadFf', 'SF', 0, ?, ?, ?, 1, 1, ?, 1)`);
}
