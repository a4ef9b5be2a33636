import type { CloseKind, Endpoint, TcpState, Vantage } from '../tcp/flow-record';

/**
 * One row of the `flows` table as better-sqlite3 returns it (schema.ts;
 * times are REAL Unix seconds, booleans 0/1). Queries that select some
 * columns type their rows as a Pick of it.
 */
export interface FlowsRow {
  id: number;
  capture_id: number;
  uid: number;
  ip_version: number;
  orig_h: string;
  orig_p: number;
  resp_h: string;
  resp_p: number;
  first_ts: number;
  last_ts: number;
  duration: number;
  orig_pkts: number;
  orig_bytes: number;
  orig_ip_bytes: number;
  resp_pkts: number;
  resp_bytes: number;
  resp_ip_bytes: number;
  missed_bytes: number;
  retransmissions: number;
  orig_retransmissions: number;
  resp_retransmissions: number;
  orig_out_of_order: number;
  resp_out_of_order: number;
  orig_keepalives: number;
  resp_keepalives: number;
  orig_zero_windows: number;
  resp_zero_windows: number;
  orig_wscale: number | null;
  resp_wscale: number | null;
  orig_mss: number | null;
  resp_mss: number | null;
  history: string;
  conn_state: string;
  midstream: number;
  orig_state: TcpState;
  resp_state: TcpState;
  orig_state_since: number | null;
  resp_state_since: number | null;
  first_fin_by: Endpoint | null;
  first_fin_ts: number | null;
  idle_before_fin: number | null;
  first_fin_acked: number;
  peer_fin_sent: number;
  first_rst_by: Endpoint | null;
  close_kind: CloseKind;
  finished: number;
  captured_only: Endpoint | null;
  orig_state_inferred: number;
  resp_state_inferred: number;
  close_kind_inferred: number;
  vantage: Vantage | null;
  rtt_to_orig: number | null;
  rtt_to_resp: number | null;
  /** Community ID v1; NULL for rows written before schema version 4. */
  community_id: string | null;
}
