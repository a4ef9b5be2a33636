import type Database from 'better-sqlite3';
import { readHttpFacts, skipHttpFacts } from '../app/http-batch';
import type { HttpFlowFacts } from '../app/http-facts';

const sec = (us: number | null): number | null => (us === null ? null : us / 1e6);

/** The http_flows.exchanges JSON of a flow (schema.ts, version 6). */
export function exchangesJson(f: HttpFlowFacts): string {
  let s = '[';
  for (let i = 0; i < f.exchanges.length; i++) {
    const x = f.exchanges[i];
    s += `${i === 0 ? '' : ','}${JSON.stringify([
      sec(x.requestTsUs),
      sec(x.firstResponseTsUs),
      sec(x.responseEndTsUs),
      x.method,
      x.status,
      x.requestBodyBytes,
      x.responseBodyBytes,
    ])}`;
  }
  return s + ']';
}

/**
 * Writes the HTTP/TLS part of a flow's batch record (src/app/http-batch.ts)
 * into http_flows, in the caller's transaction, beside the flow row. A flow
 * written again (live upserts) has its row replaced.
 */
export class HttpFactsWriter {
  private readonly insert: Database.Statement;
  private readonly remove: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`INSERT OR REPLACE INTO http_flows (flow_id, protocol, requests, responses, first_exchange_ts,
      last_exchange_ts, user_agent, server, host, connection_close_by, keepalive_timeout, keepalive_max, longest_reuse_idle,
      tls_sni, heads_truncated_by_snaplen, parse_stop, close_kind, race_requests, fin_to_request, exchanges_dropped, exchanges)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.remove = db.prepare('DELETE FROM http_flows WHERE flow_id = ?');
  }

  /** The facts part at p of a batch; `existing`: the flow row was there before (an update). Returns the position after it. */
  write(flowId: number, a: Float64Array, p: number, texts: readonly string[], existing: boolean): number {
    const f = readHttpFacts(a, p, texts);
    if (f === null) {
      if (existing) this.remove.run(flowId);
    } else {
      this.insert.run(
        flowId,
        f.protocol,
        f.requests,
        f.responses,
        sec(f.firstExchangeTsUs),
        sec(f.lastExchangeTsUs),
        f.userAgent,
        f.server,
        f.host,
        f.connectionCloseBy,
        f.keepAliveTimeoutS,
        f.keepAliveMax,
        sec(f.longestReuseIdleUs),
        f.tlsSni,
        f.headsTruncatedBySnaplen,
        f.parseStop,
        f.closeKind,
        f.raceRequests,
        sec(f.finToRequestUs),
        f.exchangesDropped,
        exchangesJson(f),
      );
    }
    return skipHttpFacts(a, p);
  }
}
