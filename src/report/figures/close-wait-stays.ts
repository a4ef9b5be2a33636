import type { Database } from 'better-sqlite3';

/** One endpoint's time in CLOSE_WAIT. */
export interface CloseWaitStay {
  flowId: number;
  endpoint: 'orig' | 'resp';
  /** Seconds in CLOSE_WAIT: until it left (sent its FIN, reset), or until capture end when it never did. */
  seconds: number;
  /** False when the endpoint was still in CLOSE_WAIT at capture end: `seconds` is then a lower bound. */
  left: boolean;
}

/**
 * Every stay in CLOSE_WAIT of a capture, from the stored transitions: from
 * the transition into CLOSE_WAIT to the same endpoint's next transition, or
 * to capture end. The passive closer of every orderly close passes through
 * CLOSE_WAIT (usually for microseconds), so this is the whole distribution,
 * not only the leaks.
 */
export function closeWaitStays(db: Database, captureId: number, endTs: number | null): CloseWaitStay[] {
  const rows = db
    .prepare(
      `SELECT t.flow_id AS flowId, t.endpoint AS endpoint, t.ts AS ts, t.to_state AS toState
       FROM flows f JOIN transitions t ON t.flow_id = f.id
       WHERE f.capture_id = ? AND f.id IN (SELECT flow_id FROM transitions WHERE to_state = 'CLOSE_WAIT' AND flow_id IN (SELECT id FROM flows WHERE capture_id = ?))
       ORDER BY t.flow_id, t.seq`,
    )
    .iterate(captureId, captureId) as IterableIterator<{ flowId: number; endpoint: 'orig' | 'resp'; ts: number; toState: string }>;
  const out: CloseWaitStay[] = [];
  // Per flow, when each endpoint entered CLOSE_WAIT (NaN: not in it).
  let flow = -1;
  const since = { orig: NaN, resp: NaN };
  const flush = (): void => {
    for (const e of ['orig', 'resp'] as const) {
      if (!Number.isNaN(since[e]) && endTs !== null) out.push({ flowId: flow, endpoint: e, seconds: Math.max(0, endTs - since[e]), left: false });
      since[e] = NaN;
    }
  };
  for (const r of rows) {
    if (r.flowId !== flow) {
      flush();
      flow = r.flowId;
    }
    if (!Number.isNaN(since[r.endpoint])) {
      out.push({ flowId: flow, endpoint: r.endpoint, seconds: r.ts - since[r.endpoint], left: true });
      since[r.endpoint] = NaN;
    }
    if (r.toState === 'CLOSE_WAIT') since[r.endpoint] = r.ts;
  }
  flush();
  return out;
}
