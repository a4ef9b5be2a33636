import type { Transition } from './flow-record';
import { STATE_NAMES, ST_UNKNOWN } from './tcp-state-codes';

/**
 * A flow's transitions recorded compactly while it is held: one number per
 * transition in a plain (double) array instead of a Transition object with a
 * boxed timestamp. Flows live long enough to reach the old generation, so
 * what they hold is what garbage collection copies and marks; the Transition
 * objects are made only when a FlowRecord is built (materializeTransitions).
 *
 * Entry = (tsUs - base) * CODE_SPAN + code, where base is the flow's first
 * timestamp and code = cause << 5 | to << 1 | (orig ? 1 : 0). `from` is not
 * stored: it is the previous `to` of the same endpoint (UNKNOWN at first),
 * since every state change goes through TcpFlow.setState. A time offset
 * too large for an exact double is written as two entries: code + 0.5 (not
 * an integer: the escape) followed by the absolute tsUs.
 */
const CODE_SPAN = 8192;
/** |offset| below this keeps offset * CODE_SPAN + code exact (< 2^53). */
const MAX_OFFSET = 2 ** 39;

/** Distinct causes a log can code. */
export const MAX_CAUSES = CODE_SPAN >> 5;

/** Cause strings by code, in order of first use (a handful of literals). */
const causeNames: string[] = [];
const causeCodes = new Map<string, number>();

function causeCode(cause: string): number {
  let c = causeCodes.get(cause);
  if (c === undefined) {
    c = causeNames.length;
    if (c >= MAX_CAUSES) throw new Error(`transition-log: too many distinct causes (${cause})`);
    causeNames.push(cause);
    causeCodes.set(cause, c);
  }
  return c;
}

/** Append one transition to `log` (the flow's array). */
export function logTransition(log: number[], baseUs: number, isOrig: boolean, to: number, tsUs: number, cause: string): void {
  const code = (causeCode(cause) << 5) | (to << 1) | (isOrig ? 1 : 0);
  const off = tsUs - baseUs;
  if (off < MAX_OFFSET && off > -MAX_OFFSET) log.push(off * CODE_SPAN + code);
  else log.push(code + 0.5, tsUs);
}

/** The text of a cause code (as given to visitors). */
export function causeName(code: number): string {
  return causeNames[code];
}

/** Receives one transition of a log: state codes (tcp-state-codes.ts) and a cause code (causeName), no object made. */
export type TransitionVisitor = (tsUs: number, isOrig: boolean, from: number, to: number, cause: number) => void;

/** Call `visit` for each transition of a log, in order; returns how many there were. */
export function visitTransitions(log: number[], baseUs: number, visit: TransitionVisitor): number {
  let fromOrig = ST_UNKNOWN;
  let fromResp = ST_UNKNOWN;
  let n = 0;
  for (let i = 0; i < log.length; i++) {
    const v = log[i];
    const off = Math.floor(v / CODE_SPAN);
    let code = v - off * CODE_SPAN;
    let tsUs: number;
    if ((code | 0) !== code) {
      // The escape (code + 0.5, off 0): the absolute time follows.
      code -= 0.5;
      tsUs = log[++i];
    } else {
      tsUs = off + baseUs;
    }
    const to = (code >> 1) & 15;
    const isOrig = (code & 1) !== 0;
    const from = isOrig ? fromOrig : fromResp;
    if (isOrig) fromOrig = to;
    else fromResp = to;
    visit(tsUs, isOrig, from, to, code >> 5);
    n++;
  }
  return n;
}

/** The Transition objects of a log, in order (fresh objects and array on each call). */
export function materializeTransitions(log: number[], baseUs: number): Transition[] {
  const out: Transition[] = [];
  visitTransitions(log, baseUs, (tsUs, isOrig, from, to, cause) => {
    out.push({ tsUs, endpoint: isOrig ? 'orig' : 'resp', from: STATE_NAMES[from], to: STATE_NAMES[to], cause: causeNames[cause] });
  });
  return out;
}
