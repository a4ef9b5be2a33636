import type { TcpState } from './flow-record';

/**
 * Numeric codes for the RFC 9293 endpoint states used inside the engine
 * (numbers, not strings, on the hot path). STATE_NAMES maps them to the
 * contract's TcpState strings when a transition or record is written out.
 */
export const ST_UNKNOWN = 0;
export const ST_SYN_SENT = 1;
export const ST_SYN_RECEIVED = 2;
export const ST_ESTABLISHED = 3;
export const ST_FIN_WAIT_1 = 4;
export const ST_FIN_WAIT_2 = 5;
export const ST_CLOSING = 6;
export const ST_TIME_WAIT = 7;
export const ST_CLOSE_WAIT = 8;
export const ST_LAST_ACK = 9;
export const ST_CLOSED = 10;

export const STATE_NAMES: readonly TcpState[] = [
  'UNKNOWN',
  'SYN_SENT',
  'SYN_RECEIVED',
  'ESTABLISHED',
  'FIN_WAIT_1',
  'FIN_WAIT_2',
  'CLOSING',
  'TIME_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'CLOSED',
];

/**
 * Zeek's coarse per-endpoint states (TCP_ENDPOINT_*), tracked alongside the
 * RFC states only to compute `conn_state` exactly as Zeek's conn/main.zeek does.
 */
export const Z_INACTIVE = 0;
export const Z_SYN_SENT = 1;
export const Z_SYN_ACK_SENT = 2;
export const Z_PARTIAL = 3;
export const Z_ESTABLISHED = 4;
export const Z_CLOSED = 5;
export const Z_RESET = 6;
