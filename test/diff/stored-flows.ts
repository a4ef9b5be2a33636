import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { DirectionStats, Endpoint, FlowRecord, TcpState, Transition } from '../../src/tcp/flow-record';
import { cliPath } from '../helpers/paths';
import type { FlowsRow } from '../../src/store/flows-row';

const run = promisify(execFile);

type FlowRow = Pick<
  FlowsRow,
  | 'id'
  | 'uid'
  | 'ip_version'
  | 'orig_h'
  | 'orig_p'
  | 'resp_h'
  | 'resp_p'
  | 'first_ts'
  | 'last_ts'
  | 'missed_bytes'
  | 'history'
  | 'conn_state'
  | 'midstream'
  | 'orig_state'
  | 'resp_state'
  | 'first_fin_by'
  | 'peer_fin_sent'
  | 'first_fin_acked'
  | 'first_rst_by'
  | 'close_kind'
  | 'finished'
  | 'captured_only'
  | 'orig_state_inferred'
  | 'resp_state_inferred'
  | 'close_kind_inferred'
  | 'vantage'
  | 'rtt_to_orig'
  | 'rtt_to_resp'
  | 'community_id'
> & { [k: string]: unknown };

function dir(r: FlowRow, d: 'orig' | 'resp'): DirectionStats {
  const n = (k: string): number => r[`${d}_${k}`] as number;
  const opt = (k: string): number => (r[`${d}_${k}`] === null ? -1 : (r[`${d}_${k}`] as number));
  return {
    packets: n('pkts'),
    bytes: n('bytes'),
    ipBytes: n('ip_bytes'),
    retransmits: n('retransmissions'),
    outOfOrder: n('out_of_order'),
    keepalives: n('keepalives'),
    zeroWindows: n('zero_windows'),
    windowScale: opt('wscale'),
    mss: opt('mss'),
  };
}

/**
 * The flows of `file` as the CLI stores them: `wirestate ingest FILE --db
 * tmp.db`, then the flows and transitions tables read back into FlowRecord
 * shape (times from REAL seconds, rounded to µs). Proves the numbers that
 * reach SQL, not just the engine's objects.
 */
export async function storedFlows(file: string): Promise<FlowRecord[]> {
  const dir0 = fs.mkdtempSync(path.join(os.tmpdir(), 'wirestate-diff-db-'));
  const db = path.join(dir0, 'x.db');
  try {
    await run(process.execPath, [cliPath, 'ingest', file, '--db', db, '--quiet'], { maxBuffer: 1 << 24 });
    const h = new Database(db, { readonly: true });
    try {
      const rows = h.prepare('SELECT * FROM flows ORDER BY uid').all() as FlowRow[];
      const trans = h.prepare('SELECT flow_id, ts, endpoint, from_state, to_state, cause FROM transitions ORDER BY flow_id, seq').all() as {
        flow_id: number;
        ts: number;
        endpoint: Endpoint;
        from_state: TcpState;
        to_state: TcpState;
        cause: string;
      }[];
      const byFlow = new Map<number, Transition[]>();
      for (const t of trans) {
        let l = byFlow.get(t.flow_id);
        if (l === undefined) byFlow.set(t.flow_id, (l = []));
        l.push({ tsUs: Math.round(t.ts * 1e6), endpoint: t.endpoint, from: t.from_state, to: t.to_state, cause: t.cause });
      }
      return rows.map((r) => ({
        uid: r.uid,
        ipVersion: r.ip_version === 6 ? 6 : 4,
        origH: r.orig_h,
        origP: r.orig_p,
        respH: r.resp_h,
        respP: r.resp_p,
        firstTsUs: Math.round(r.first_ts * 1e6),
        lastTsUs: Math.round(r.last_ts * 1e6),
        orig: dir(r, 'orig'),
        resp: dir(r, 'resp'),
        missedBytes: r.missed_bytes,
        lostBytes: 0,
        history: r.history,
        connState: r.conn_state,
        midstream: r.midstream === 1,
        origState: r.orig_state as TcpState,
        respState: r.resp_state as TcpState,
        origStateSinceUs: 0,
        respStateSinceUs: 0,
        firstFinBy: r.first_fin_by,
        firstFinTsUs: null,
        idleBeforeFinUs: null,
        firstFinAcked: r.first_fin_acked === 1,
        peerFinSent: r.peer_fin_sent === 1,
        firstRstBy: r.first_rst_by,
        closeKind: r.close_kind as FlowRecord['closeKind'],
        finished: r.finished === 1,
        capturedOnly: r.captured_only,
        origStateInferred: r.orig_state_inferred === 1,
        respStateInferred: r.resp_state_inferred === 1,
        closeKindInferred: r.close_kind_inferred === 1,
        vantage: r.vantage,
        rttToOrigUs: r.rtt_to_orig === null ? null : Math.round(r.rtt_to_orig * 1e6),
        rttToRespUs: r.rtt_to_resp === null ? null : Math.round(r.rtt_to_resp * 1e6),
        transitions: byFlow.get(r.id) ?? [],
        communityId: r.community_id ?? '',
      }));
    } finally {
      h.close();
    }
  } finally {
    fs.rmSync(dir0, { recursive: true, force: true });
  }
}
