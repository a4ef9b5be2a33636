import type Database from 'better-sqlite3';
import type { FlowRecord, Vantage } from '../tcp/flow-record';

/**
 * What a capture could see: how many connections it saw one direction only
 * (flows.captured_only) and where it was taken (flows.vantage), summed per
 * capture. Read from the database (view capture_vantage) for ingest's
 * summary and the report header, or tallied from flow records for `stats`;
 * the sentences are the same in all three.
 */
export interface CaptureSight {
  flows: number;
  /** Only the originators' (clients') packets captured. */
  origOnly: number;
  /** Only the responders' (servers') packets captured. */
  respOnly: number;
  /** Packets of both endpoints captured. */
  bothWays: number;
  /** Flows whose handshake was measured (both half-RTTs). */
  measured: number;
  /** Flows whose handshake puts the capture point at the originator, at the responder, in between. */
  atOrig: number;
  atResp: number;
  inBetween: number;
}

export function emptySight(): CaptureSight {
  return { flows: 0, origOnly: 0, respOnly: 0, bothWays: 0, measured: 0, atOrig: 0, atResp: 0, inBetween: 0 };
}

/** The capture's sight, from the capture_vantage view (schema version 5). */
export function readCaptureSight(db: Database.Database, captureId: number): CaptureSight {
  const r = db
    .prepare(
      `SELECT flows, orig_only AS origOnly, resp_only AS respOnly, both_ways AS bothWays, measured,
              at_orig AS atOrig, at_resp AS atResp, in_between AS inBetween
       FROM capture_vantage WHERE capture_id = ?`,
    )
    .get(captureId) as CaptureSight | undefined;
  return r ?? emptySight();
}

/**
 * Flow records tallied the way the store sums them: a record's SYN-only
 * `no_reply` counts as one-direction when every other flow was seen from the
 * originators' side only (FlowStore.endCapture does the same to the rows).
 */
export class SightTally {
  private readonly s = emptySight();
  private synOnly = 0;

  add(f: FlowRecord): void {
    const s = this.s;
    s.flows++;
    if (f.capturedOnly === 'orig') s.origOnly++;
    else if (f.capturedOnly === 'resp') s.respOnly++;
    else if (f.orig.packets > 0 && f.resp.packets > 0) s.bothWays++;
    else if (f.closeKind === 'no_reply' && f.resp.packets === 0) this.synOnly++;
    if (f.rttToOrigUs !== null) s.measured++;
    if (f.vantage === 'orig') s.atOrig++;
    else if (f.vantage === 'resp') s.atResp++;
    else if (f.vantage === 'between') s.inBetween++;
  }

  result(): CaptureSight {
    const s = { ...this.s };
    if (s.origOnly > 0 && s.respOnly === 0 && s.bothWays === 0) s.origOnly += this.synOnly;
    return s;
  }
}

/** The capture's vantage point: the majority of its flows' estimates (null on a tie or with none). */
export function captureVantage(s: CaptureSight): Vantage | null {
  if (s.atOrig > s.atResp && s.atOrig > s.inBetween) return 'orig';
  if (s.atResp > s.atOrig && s.atResp > s.inBetween) return 'resp';
  if (s.inBetween > s.atOrig && s.inBetween > s.atResp) return 'between';
  return null;
}

const WHY_ONE_WAY = '(asymmetric routing, a one-way mirror port, or tcpdump -Q)';

/**
 * The limit stated once, e.g. "only the client→server direction of 20 of 20
 * connections was captured (asymmetric routing, a one-way mirror port, or
 * tcpdump -Q)". Empty when every connection was seen both ways.
 */
export function oneDirectionLines(s: CaptureSight): string[] {
  const out: string[] = [];
  const of = (n: number) => `${n} of ${s.flows} connection${s.flows === 1 ? '' : 's'}`;
  if (s.origOnly > 0) out.push(`only the client→server direction of ${of(s.origOnly)} was captured ${WHY_ONE_WAY}`);
  if (s.respOnly > 0) out.push(`only the server→client direction of ${of(s.respOnly)} was captured ${WHY_ONE_WAY}`);
  if (out.length > 0) {
    out.push(
      'the other side of those is inferred from the ACKs of the side seen (states and close kinds marked inferred); what only its packets could show, such as whether it acknowledged a FIN, is UNKNOWN and raises no finding',
    );
  }
  return out;
}

/** "vantage point: at the client (6 of 6 handshakes)", or why it is unknown. */
export function vantageLine(s: CaptureSight): string {
  const votes = s.atOrig + s.atResp + s.inBetween;
  const v = captureVantage(s);
  if (votes === 0 && s.measured > 0) {
    return `vantage point: unknown (the two halves of the round trip are too close to tell the ends apart in ${s.measured} of ${s.measured} handshakes: the path is shorter than the hosts' own processing)`;
  }
  if (votes === 0) return 'vantage point: unknown (no complete handshake seen both ways)';
  const n = v === 'orig' ? s.atOrig : v === 'resp' ? s.atResp : v === 'between' ? s.inBetween : 0;
  const where = v === 'orig' ? 'at the client' : v === 'resp' ? 'at the server' : v === 'between' ? 'in between' : 'unknown (the handshakes disagree)';
  const basis = v === null ? `${s.atOrig} at the client, ${s.atResp} at the server, ${s.inBetween} in between` : `${n} of ${votes} handshake${votes === 1 ? '' : 's'}`;
  return `vantage point: ${where} (${basis}; from the two half-RTTs of each handshake)`;
}
