import type { Database } from 'better-sqlite3';
import { readStateStays } from '../../store/state-stays';

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
 * not only the leaks. Decoded by readStateStays (the timelines scanned in
 * JavaScript, not through the json_each views: a 50k-flow capture has about
 * as many stays).
 */
export function closeWaitStays(db: Database, captureId: number, endTs: number | null): CloseWaitStay[] {
  const st = readStateStays(db, { captureId, states: ['CLOSE_WAIT'] });
  const out: CloseWaitStay[] = [];
  // The stays that ended first, then those still open at capture end (the figure's series in that order).
  for (const left of [true, false]) {
    for (let i = 0; i < st.n; i++) {
      const from = st.fromUs[i];
      const to = st.toUs[i];
      if ((to === to) !== left) continue;
      const endpoint = st.endpoint[i] === 0 ? 'orig' : 'resp';
      const flowId = st.flows.id[st.flow[i]];
      if (left) out.push({ flowId, endpoint, seconds: (to - from) / 1e6, left });
      else if (endTs !== null) out.push({ flowId, endpoint, seconds: Math.max(0, endTs - from / 1e6), left });
    }
  }
  return out;
}
