/**
 * Application-layer facts of one TCP flow, as the store writes them beside
 * the flow (tables http_flows and http_exchanges, schema.ts versions 6 and 8). Made
 * once per flow when the flow is written out (app-flow.ts), never per packet.
 * Times are integer microseconds since the Unix epoch, like FlowRecord's.
 */

export type AppProtocol = 'http' | 'tls';

/** Which side sent `Connection: close`. */
export type CloseRequestedBy = 'orig' | 'resp' | 'both';

/** The server's close signal a keepalive_race request met: its FIN, or a bare RST with no FIN. */
export type RaceSignal = 'fin' | 'rst';

/** One request and its response, in the order the requests were sent. */
export interface HttpExchange {
  /** First byte of the request; null for a response with no request seen (capture started between them). */
  requestTsUs: number | null;
  /** First byte of the first response to it (a `100 Continue` counts); null: no response seen. */
  firstResponseTsUs: number | null;
  /** Last byte of the final response's body; null: not seen to the end. */
  responseEndTsUs: number | null;
  method: string | null;
  /** Status of the final response (the last 1xx when only interim responses came); null: none. */
  status: number | null;
  /** Body bytes by the message's framing (chunk data only for chunked); null when the framing was not seen (snaplen cut). */
  requestBodyBytes: number | null;
  responseBodyBytes: number | null;
}

/** Why the parser stopped reading a flow's bytes (null: it read them all). */
export type ParseStop =
  /** The first bytes were not an HTTP/1.x message start (nor a TLS ClientHello). */
  | 'not_http'
  /** A TLS connection: its ClientHello was read for the SNI, the rest is encrypted. */
  | 'tls'
  /** Bytes missing inside a message head or chunk framing (capture loss or out-of-order hole). */
  | 'gap'
  /** A message head longer than the bound (MAX_HEAD_BYTES). */
  | 'head_too_large'
  /** A later message did not start like an HTTP/1.x message, or its framing was invalid. */
  | 'bad_framing'
  /** 101 Switching Protocols or a CONNECT tunnel: the bytes after it are another protocol. */
  | 'upgrade'
  /** More pipelined requests outstanding than the bound. */
  | 'too_many_pending'
  /** The capture-wide budget of buffered message heads was used up. */
  | 'memory';

export interface HttpFlowFacts {
  protocol: AppProtocol;
  /** Requests and (final) responses seen, including those beyond the stored exchanges. */
  requests: number;
  responses: number;
  firstExchangeTsUs: number | null;
  lastExchangeTsUs: number | null;
  /** First value seen on the flow (at most MAX_VALUE_CHARS characters). */
  userAgent: string | null;
  server: string | null;
  host: string | null;
  connectionCloseBy: CloseRequestedBy | null;
  /** The server's `Keep-Alive: timeout=N, max=N` (first response carrying it). */
  keepAliveTimeoutS: number | null;
  keepAliveMax: number | null;
  /** Longest wait between the end of a response and the next request on this connection. */
  longestReuseIdleUs: number | null;
  tlsSni: string | null;
  /** Message heads cut by the capture's snaplen (their values are what was captured; the framing after them is unknown). */
  headsTruncatedBySnaplen: number;
  parseStop: ParseStop | null;
  /**
   * The application-level close kind; null when none applies.
   * keepalive_race: the client sent a request on a kept-alive connection as
   * the server closed it, and the request got no response at all. The
   * server's close is one of (raceSignal):
   *  - fin: the request was sent after the server's FIN had left, or in
   *    flight across it (the FIN did not acknowledge it); the connection then
   *    ended in RST or without a response;
   *  - rst: the server sent a bare RST and never a FIN (Linux close() with
   *    the request unread in the receive queue, or an abortive SO_LINGER 0
   *    idle close crossing the request). Only when the request was sent on a
   *    reused connection (an earlier response had ended) after at least 1 s
   *    idle (app-flow.ts RST_RACE_MIN_IDLE_US) and the RST came within 1 s of
   *    it, before or after (RST_RACE_WITHIN_US), with no response byte: a
   *    reset of a fresh connection's first request, after a response began,
   *    or long after the request is a server failing a request, not a race.
   * Never when the server had sent `Connection: close` (the client was told).
   */
  closeKind: 'keepalive_race' | null;
  /** keepalive_race: requests on the connection that met the server's close and got no response. */
  raceRequests: number;
  /** keepalive_race by FIN: time from the server's FIN to the first such request (negative: the request was on the wire before the FIN); null for an RST race (there was no FIN). */
  finToRequestUs: number | null;
  /** keepalive_race: the server's close signal the requests met; null when not a race. */
  raceSignal: RaceSignal | null;
  /** keepalive_race: time from that signal (FIN or RST) to the first such request; negative when the request was on the wire first (always for an RST that answered it). */
  signalToRequestUs: number | null;
  exchanges: HttpExchange[];
  /** Exchanges counted but not stored (more than MAX_EXCHANGES on the flow; the first and the last are kept). */
  exchangesDropped: number;
}

/** Method codes of the exchange table (the index), and the text for an unlisted method. */
export const METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'OTHER'];
export const M_HEAD = 1;
export const M_CONNECT = 5;
export const M_OTHER = 9;

export const PARSE_STOPS: readonly ParseStop[] = ['not_http', 'tls', 'gap', 'head_too_large', 'bad_framing', 'upgrade', 'too_many_pending', 'memory'];
