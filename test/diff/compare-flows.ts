import type { DirectionStats, FlowRecord } from '../../src/tcp/flow-record';
import type { TcptraceConn, TcptraceDir, TcptraceResult } from './tcptrace-long';
import { finCount, mergeTcptrace, pairValue, synCount } from './tcptrace-long';
import type { TsharkConn, TsharkDir, TsharkResult } from './tshark-tcp';
import { tupleKey } from './tool-run';

/**
 * Per-connection comparison of wirestate's FlowRecords with tshark's and
 * tcptrace's figures for the same capture. Connections are matched by their
 * 4-tuple (either direction) and the time of their first packet (within
 * 1 µs: tshark prints ns, tcptrace and wirestate µs), because a 4-tuple can
 * be reused by later connections in one capture.
 *
 * What is compared with what, per direction unless said otherwise:
 *  - packets: tshark frames / tcptrace 'total packets';
 *  - bytes (payload, from the sequence space): tshark's highest payload
 *    sequence number + 1 minus ISN + 1 (tcp.seq_raw) / tcptrace 'unique bytes
 *    sent'; ip_bytes: ip.len or ipv6.plen + 40 summed; missed_bytes (both
 *    directions): sequence span minus the bytes present in some frame;
 *  - retransmits: frames tshark flags retransmission, fast_retransmission or
 *    spurious_retransmission / tcptrace 'rexmt data pkts' (SYN and FIN repeats
 *    included on both sides); out_of_order: tcp.analysis.out_of_order /
 *    'outoforder pkts'; keepalives: tcp.analysis.keep_alive (tcptrace has no
 *    such count); zero_windows: tcp.analysis.zero_window / 'zero win adv';
 *  - SYN/FIN/RST: the engine's FlowRecord has no raw per-direction counts, so
 *    its Zeek history letters (S/H, F, R: one per new sequence number) are
 *    compared with the same count computed from tshark's frames, and whether
 *    each side sent a SYN / FIN / RST at all with tcptrace's 'SYN/FIN pkts
 *    sent' and 'resets sent'; tcptrace's 'complete conn' (yes = SYN and FIN
 *    both ways, RESET = any RST) with the same condition on the flow;
 *  - wscale and mss from the SYN options: tcp.options.wscale.shift (as
 *    negotiated: -1 when the peer's SYN had none) and tcp.options.mss_val /
 *    tcptrace 'adv wind scale' (when 'req 1323 ws' is Y) and 'mss requested'
 *    (exact, unlike 'max/min segm size');
 *  - the connections themselves, and the last packet time (tshark).
 *
 * Every check yields a row: agree, or differ. A differing row is then passed
 * to `explainDifference` (difference-rules.ts), which either names the
 * definitional reason (documented there, and the row is accepted) or leaves
 * it unexplained (a test failure: a bug to fix in the engine or a rule to
 * write down with its reason).
 */
export type Tool = 'tshark' | 'tcptrace';

export interface CheckRow {
  tool: Tool;
  /** 'orig_h:orig_p > resp_h:resp_p @first_ts' (or the tool's 4-tuple for a connection we did not make). */
  conn: string;
  /** e.g. 'orig.packets', 'resp.retransmits', 'connection', 'complete'. */
  check: string;
  ours: string | number;
  theirs: string | number;
  agree: boolean;
  /** Why the numbers differ by definition (set by the rules); absent = unexplained. */
  reason?: string;
}

/** What a rule may look at about the connection a row belongs to. */
export interface RowContext {
  flow: FlowRecord | null;
  dir: 'orig' | 'resp' | null;
  tshark: TsharkConn | null;
  tsharkDir: TsharkDir | null;
  tsharkPeer: TsharkDir | null;
  tcptrace: TcptraceConn | null;
  tcptraceDir: TcptraceDir | null;
  /** A later tcptrace record of the same connection, merged before comparing (see tcptraceRows). */
  split?: { gapUs: number; finsBefore: number; partFirstUs: number; laterSyns: number };
}

export interface ComparedRow extends CheckRow {
  ctx: RowContext;
}

export const MATCH_TOLERANCE_US = 1;

function connName(f: FlowRecord): string {
  const h = (x: string): string => (x.includes(':') ? `[${x}]` : x);
  return `${h(f.origH)}:${f.origP} > ${h(f.respH)}:${f.respP} @${(f.firstTsUs / 1e6).toFixed(6)}`;
}

function flowKey(f: FlowRecord): string {
  return tupleKey(f.origH, f.origP, f.respH, f.respP);
}

/** Matches items to flows by 4-tuple + first timestamp; returns flow index -> item, plus items left over. */
function matchByTuple<T>(
  flows: FlowRecord[],
  items: T[],
  key: (t: T) => string,
  firstTs: (t: T) => number,
): { byFlow: (T | null)[]; unmatched: T[] } {
  const pool = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    let l = pool.get(k);
    if (l === undefined) pool.set(k, (l = []));
    l.push(it);
  }
  const byFlow: (T | null)[] = flows.map((f) => {
    const l = pool.get(flowKey(f));
    if (l === undefined) return null;
    const i = l.findIndex((t) => Math.abs(firstTs(t) - f.firstTsUs) <= MATCH_TOLERANCE_US);
    if (i < 0) return null;
    return l.splice(i, 1)[0];
  });
  const unmatched: T[] = [];
  for (const l of pool.values()) unmatched.push(...l);
  return { byFlow, unmatched };
}

/** Count of history letters of one direction (uppercase = orig). */
function letters(history: string, dir: 'orig' | 'resp', set: string): number {
  const want = dir === 'orig' ? set.toUpperCase() : set.toLowerCase();
  let n = 0;
  for (const ch of history) if (want.includes(ch)) n++;
  return n;
}

/** Whether `dir` sent a FIN, from the close fields (includes a FIN inferred from the peer's ACK). */
export function finSent(f: FlowRecord, dir: 'orig' | 'resp'): boolean {
  if (f.firstFinBy === null) return false;
  return f.firstFinBy === dir || f.peerFinSent;
}

/** Whether `dir` sent a SYN (S or H in its history letters). */
export function synSent(f: FlowRecord, dir: 'orig' | 'resp'): boolean {
  return letters(f.history, dir, 'SH') > 0;
}

/** Whether `dir` sent a RST: the engine records 'sent RST' on every RST it sees. */
export function rstSent(f: FlowRecord, dir: 'orig' | 'resp'): boolean {
  return f.transitions.some((t) => t.endpoint === dir && t.cause === 'sent RST') || letters(f.history, dir, 'RI') > 0;
}

/** The scale a direction's windows are multiplied by: its SYN option when both SYNs carried one (RFC 7323), else -1. */
function negotiated(d: TsharkDir | null, peer: TsharkDir | null): number {
  if (d === null || !d.synSeen || d.wscale < 0) return -1;
  if (peer !== null && peer.synSeen && peer.wscale < 0) return -1;
  return d.wscale;
}

export interface FileComparison {
  flows: number;
  tsharkConns: number;
  tcptraceConns: number | null;
  /** Why tcptrace was not compared for this file (tool missing, link type it cannot read...). */
  tcptraceSkipped: string | null;
  /** 'tool check' (direction folded: 'tshark retransmits') -> rows compared / rows that agreed. */
  compared: Map<string, number>;
  agreed: Map<string, number>;
  /** Only the rows that differ (agreeing rows are just counted, so a large capture stays small in memory). */
  differences: ComparedRow[];
}

/** 'orig.retransmits' -> 'retransmits' */
export function checkKind(tool: Tool, check: string): string {
  return `${tool} ${check.replace(/^(orig|resp)\./, '')}`;
}

class Rows {
  readonly compared = new Map<string, number>();
  readonly agreed = new Map<string, number>();
  readonly differences: ComparedRow[] = [];
  add(tool: Tool, conn: string, check: string, ours: string | number, theirs: string | number, ctx: RowContext): void {
    const k = checkKind(tool, check);
    this.compared.set(k, (this.compared.get(k) ?? 0) + 1);
    if (ours === theirs) this.agreed.set(k, (this.agreed.get(k) ?? 0) + 1);
    else this.differences.push({ tool, conn, check, ours, theirs, agree: false, ctx });
  }
}

function row(rows: Rows, tool: Tool, conn: string, check: string, ours: string | number, theirs: string | number, ctx: RowContext): void {
  rows.add(tool, conn, check, ours, theirs, ctx);
}

const DIRS = ['orig', 'resp'] as const;

function tsharkRows(rows: Rows, flows: FlowRecord[], ts: TsharkResult): (TsharkConn | null)[] {
  const m = matchByTuple(
    flows,
    ts.conns,
    (c) => tupleKey(c.aH, c.aP, c.bH, c.bP),
    (c) => c.firstTsUs,
  );
  flows.forEach((f, i) => {
    const c = m.byFlow[i];
    const name = connName(f);
    const base: RowContext = { flow: f, dir: null, tshark: c, tsharkDir: null, tsharkPeer: null, tcptrace: null, tcptraceDir: null };
    row(rows, 'tshark', name, 'connection', 'flow', c === null ? 'none' : 'flow', base);
    if (c === null) return;
    let tsMissed = 0;
    for (const d of c.dirs.values()) tsMissed += d.seqSpan - d.seenBytes;
    row(rows, 'tshark', name, 'missed_bytes', f.missedBytes, tsMissed, base);
    row(rows, 'tshark', name, 'last_ts', f.lastTsUs, c.lastTsUs, base);
    // The close as tshark's frames show it: who sent a FIN, and whether the first one was acknowledged.
    if (f.firstFinBy !== null) {
      const k = (dir: 'orig' | 'resp'): string => (dir === 'orig' ? `${f.origH}|${f.origP}` : `${f.respH}|${f.respP}`);
      const first = c.dirs.get(k(f.firstFinBy));
      const other = c.dirs.get(k(f.firstFinBy === 'orig' ? 'resp' : 'orig'));
      const fctx: RowContext = { ...base, dir: f.firstFinBy, tsharkDir: first ?? null, tsharkPeer: other ?? null };
      row(rows, 'tshark', name, 'first_fin_acked', f.firstFinAcked ? 'yes' : 'no', first?.finAcked ? 'yes' : 'no', fctx);
      row(rows, 'tshark', name, 'peer_fin_sent', f.peerFinSent ? 'yes' : 'no', other?.finSeen ? 'yes' : 'no', fctx);
    }
    for (const dir of DIRS) {
      const d = c.dirs.get(dir === 'orig' ? `${f.origH}|${f.origP}` : `${f.respH}|${f.respP}`);
      row(rows, 'tshark', name, `${dir}.fin_sent`, finSent(f, dir) ? 'yes' : 'no', d?.finSeen ? 'yes' : 'no', { ...base, dir, tsharkDir: d ?? null });
    }
    for (const dir of DIRS) {
      const s: DirectionStats = f[dir];
      const srcKey = dir === 'orig' ? `${f.origH}|${f.origP}` : `${f.respH}|${f.respP}`;
      const dstKey = dir === 'orig' ? `${f.respH}|${f.respP}` : `${f.origH}|${f.origP}`;
      const d = c.dirs.get(srcKey) ?? null;
      const p = c.dirs.get(dstKey) ?? null;
      const ctx: RowContext = { ...base, dir, tsharkDir: d, tsharkPeer: p };
      const v = <K extends keyof TsharkDir>(k: K, dflt: TsharkDir[K]): TsharkDir[K] => (d === null ? dflt : d[k]);
      row(rows, 'tshark', name, `${dir}.packets`, s.packets, v('packets', 0), ctx);
      row(rows, 'tshark', name, `${dir}.ip_bytes`, s.ipBytes, v('ipBytes', 0), ctx);
      row(rows, 'tshark', name, `${dir}.bytes`, s.bytes, v('seqSpan', 0), ctx);
      row(rows, 'tshark', name, `${dir}.retransmits`, s.retransmits, v('retransmissions', 0), ctx);
      row(rows, 'tshark', name, `${dir}.out_of_order`, s.outOfOrder, v('outOfOrder', 0), ctx);
      row(rows, 'tshark', name, `${dir}.keepalives`, s.keepalives, v('keepAlives', 0), ctx);
      row(rows, 'tshark', name, `${dir}.zero_windows`, s.zeroWindows, v('zeroWindows', 0), ctx);
      row(rows, 'tshark', name, `${dir}.wscale`, s.windowScale, negotiated(d, p), ctx);
      row(rows, 'tshark', name, `${dir}.mss`, s.mss, v('mss', -1), ctx);
      // The handshake as tshark saw it: this side's SYN answered by a SYN+ACK that acknowledges it.
      if (d !== null && d.pureSyn && p !== null && p.synAckAcksPeer) {
        const est = f.transitions.some((x) => x.endpoint === dir && x.to === 'ESTABLISHED');
        row(rows, 'tshark', name, `${dir}.established`, est ? 'yes' : 'no', 'yes', ctx);
      }
      // A refusal as tshark saw it: the peer's first frame an RST+ACK acknowledging this side's SYN.
      if (d !== null && d.pureSyn && p !== null && p.refusedPeerSyn) {
        row(rows, 'tshark', name, 'refused', f.closeKind === 'refused' ? 'yes' : `no (${f.closeKind})`, 'yes', ctx);
      }
      row(rows, 'tshark', name, `${dir}.history_syn`, letters(f.history, dir, 'SH'), v('synLetters', 0), ctx);
      row(rows, 'tshark', name, `${dir}.history_fin`, letters(f.history, dir, 'F'), v('finLetters', 0), ctx);
      row(rows, 'tshark', name, `${dir}.history_rst`, letters(f.history, dir, 'R'), v('rstLetters', 0), ctx);
    }
  });
  for (const c of m.unmatched) {
    const name = `${c.aH}:${c.aP} > ${c.bH}:${c.bP} @${(c.firstTsUs / 1e6).toFixed(6)} (tshark stream ${c.stream})`;
    const ctx: RowContext = { flow: null, dir: null, tshark: c, tsharkDir: null, tsharkPeer: null, tcptrace: null, tcptraceDir: null };
    row(rows, 'tshark', name, 'connection', 'none', 'flow', ctx);
  }
  return m.byFlow;
}

function num(v: string | undefined): number {
  return v === undefined || v === 'NA' ? NaN : Number(v);
}

function tcptraceRows(rows: Rows, flows: FlowRecord[], tt: TcptraceResult, tsByFlow: (TsharkConn | null)[]): void {
  const m = matchByTuple(
    flows,
    tt.conns,
    (c) => tupleKey(c.a.host, c.a.port, c.b.host, c.b.port),
    (c) => c.firstTsUs,
  );
  // tcptrace starts a new record for packets that come long after a FIN on the same 4-tuple
  // (no SYN): fold such records back into the flow they belong to and report the split itself.
  const splitsByFlow = new Map<number, NonNullable<RowContext['split']>[]>();
  const leftover: TcptraceConn[] = [];
  const flowIndexByKey = new Map<string, number[]>();
  flows.forEach((f, i) => {
    const k = flowKey(f);
    const l = flowIndexByKey.get(k);
    if (l === undefined) flowIndexByKey.set(k, [i]);
    else l.push(i);
  });
  for (const b of [...m.unmatched].sort((x, y) => x.firstTsUs - y.firstTsUs)) {
    const cands = flowIndexByKey.get(tupleKey(b.a.host, b.a.port, b.b.host, b.b.port)) ?? [];
    const i = cands.find((j) => {
      const a = m.byFlow[j];
      return a !== null && flows[j].firstTsUs < b.firstTsUs && b.firstTsUs <= flows[j].lastTsUs && a.lastTsUs <= b.firstTsUs;
    });
    const a = i === undefined ? null : m.byFlow[i];
    if (i === undefined || a === null) {
      leftover.push(b);
      continue;
    }
    const info = { gapUs: b.firstTsUs - a.lastTsUs, finsBefore: finCount(a), partFirstUs: b.firstTsUs, laterSyns: synCount(b) };
    m.byFlow[i] = mergeTcptrace(a, b);
    const l = splitsByFlow.get(i);
    if (l === undefined) splitsByFlow.set(i, [info]);
    else l.push(info);
  }
  m.unmatched = leftover;
  flows.forEach((f, i) => {
    const c = m.byFlow[i];
    const name = connName(f);
    const t = tsByFlow[i] ?? null;
    const splits = splitsByFlow.get(i) ?? [];
    for (const sp of splits) {
      const ctx: RowContext = { flow: f, dir: null, tshark: t, tsharkDir: null, tsharkPeer: null, tcptrace: c, tcptraceDir: null, split: sp };
      row(rows, 'tcptrace', name, 'split', 'one flow', `new record at ${(sp.partFirstUs / 1e6).toFixed(6)}`, ctx);
    }
    const base: RowContext = { flow: f, dir: null, tshark: t, tsharkDir: null, tsharkPeer: null, tcptrace: c, tcptraceDir: null };
    if (splits.length > 0) base.split = splits[splits.length - 1];
    row(rows, 'tcptrace', name, 'connection', 'flow', c === null ? 'none' : 'flow', base);
    if (c === null) return;
    const bothSyn = synSent(f, 'orig') && synSent(f, 'resp');
    const bothFin = finSent(f, 'orig') && finSent(f, 'resp');
    const ours = f.firstRstBy !== null ? 'RESET' : bothSyn && bothFin ? 'yes' : 'no';
    row(rows, 'tcptrace', name, 'complete', ours, c.complete, base);
    for (const dir of DIRS) {
      const s = f[dir];
      const host = dir === 'orig' ? f.origH : f.respH;
      const port = dir === 'orig' ? f.origP : f.respP;
      const d = c.a.host === host && c.a.port === port ? c.a : c.b;
      const srcKey = `${host}|${port}`;
      const dstKey = dir === 'orig' ? `${f.respH}|${f.respP}` : `${f.origH}|${f.origP}`;
      const ctx: RowContext = { ...base, dir, tcptraceDir: d, tsharkDir: t?.dirs.get(srcKey) ?? null, tsharkPeer: t?.dirs.get(dstKey) ?? null };
      const val = d.values;
      const [syns, fins] = pairValue(val.get('SYN/FIN pkts sent'));
      const [reqWs] = pairValue(val.get('req 1323 ws/ts'));
      // tcptrace prints 'adv wind scale' whether or not the option was sent; 'req 1323 ws' says whether it was.
      row(rows, 'tcptrace', name, `${dir}.packets`, s.packets, num(val.get('total packets')), ctx);
      row(rows, 'tcptrace', name, `${dir}.syn_sent`, synSent(f, dir) ? 'yes' : 'no', Number(syns) > 0 ? 'yes' : 'no', ctx);
      row(rows, 'tcptrace', name, `${dir}.fin_sent`, finSent(f, dir) ? 'yes' : 'no', Number(fins) > 0 ? 'yes' : 'no', ctx);
      row(rows, 'tcptrace', name, `${dir}.rst_sent`, rstSent(f, dir) ? 'yes' : 'no', num(val.get('resets sent') ?? '0') > 0 ? 'yes' : 'no', ctx);
      row(rows, 'tcptrace', name, `${dir}.unique_bytes`, s.bytes, num(val.get('unique bytes sent')), ctx);
      row(rows, 'tcptrace', name, `${dir}.retransmits`, s.retransmits, num(val.get('rexmt data pkts')), ctx);
      row(rows, 'tcptrace', name, `${dir}.out_of_order`, s.outOfOrder, num(val.get('outoforder pkts')), ctx);
      row(rows, 'tcptrace', name, `${dir}.zero_windows`, s.zeroWindows, num(val.get('zero win adv')), ctx);
      const ws = reqWs === 'Y' ? num(val.get('adv wind scale')) : -1;
      row(rows, 'tcptrace', name, `${dir}.wscale`, s.windowScale, ws, ctx);
      row(rows, 'tcptrace', name, `${dir}.mss`, s.mss, Number(syns) > 0 ? num(val.get('mss requested')) : -1, ctx);
    }
  });
  for (const c of m.unmatched) {
    const name = `${c.a.host}:${c.a.port} > ${c.b.host}:${c.b.port} @${(c.firstTsUs / 1e6).toFixed(6)} (tcptrace ${c.index})`;
    const ctx: RowContext = { flow: null, dir: null, tshark: null, tsharkDir: null, tsharkPeer: null, tcptrace: c, tcptraceDir: null };
    row(rows, 'tcptrace', name, 'connection', 'none', 'flow', ctx);
  }
}

export function compareFile(
  flows: FlowRecord[],
  tshark: TsharkResult | null,
  tcptrace: TcptraceResult | null,
  tcptraceSkipped: string | null,
): FileComparison {
  const rows = new Rows();
  const tsByFlow = tshark !== null ? tsharkRows(rows, flows, tshark) : flows.map(() => null);
  if (tcptrace !== null && tcptraceSkipped === null) tcptraceRows(rows, flows, tcptrace, tsByFlow);
  return {
    flows: flows.length,
    tsharkConns: tshark === null ? 0 : tshark.conns.length,
    tcptraceConns: tcptrace === null || tcptraceSkipped !== null ? null : tcptrace.conns.length,
    tcptraceSkipped,
    compared: rows.compared,
    agreed: rows.agreed,
    differences: rows.differences,
  };
}
