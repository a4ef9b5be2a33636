import { canonicalHost, runLines } from './tool-run';

/**
 * Per-connection, per-direction figures computed from tshark's own dissection
 * of a capture: `tshark -T fields` prints one line per TCP frame (stream
 * number, addresses, flags, lengths, raw sequence number, SYN options and
 * the tcp.analysis.* expert flags), and they are added up here. Nothing of
 * wirestate's is used: tshark decides what a connection (tcp.stream) is,
 * what a retransmission, out-of-order segment, keep-alive or zero window is.
 */
export interface TsharkDir {
  packets: number;
  /** IP bytes: ip.len, or ipv6.plen + 40, summed. */
  ipBytes: number;
  /** Sum of tcp.len over every frame. */
  payloadBytes: number;
  /**
   * Sum of tcp.len over frames tshark did not flag as a retransmission (any
   * kind), keep-alive or zero-window probe: the payload bytes seen once.
   */
  uniqueBytes: number;
  /** Highest payload sequence number + 1 minus (ISN + 1), wrap-aware: the sequence span of the data. */
  seqSpan: number;
  /** Frames flagged tcp.analysis.retransmission / fast_retransmission / spurious_retransmission (each counted once). */
  retransmissions: number;
  fastRetransmissions: number;
  spuriousRetransmissions: number;
  /** Retransmission-flagged frames that carry payload (tshark also flags bare SYN and FIN repeats). */
  payloadRetransmissions: number;
  outOfOrder: number;
  zeroWindows: number;
  keepAlives: number;
  zeroWindowProbes: number;
  lostSegments: number;
  ackLostSegments: number;
  /**
   * Classification from the frames' own sequence ranges (computed here, not
   * by tshark): a payload segment that does not advance the highest sequence
   * seen either carries bytes never seen before in this direction (it fills
   * a hole) or repeats bytes already seen.
   */
  retransFillingHole: number;
  outOfOrderRepeating: number;
  /**
   * Retransmission-flagged frames that carry something seen for the first
   * time: payload past the highest payload byte seen so far, or this
   * direction's first FIN.
   */
  retransNewData: number;
  /** Keep-alive-flagged bare segments at one past this direction's last payload byte (where its FIN goes). */
  keepAlivesAtOwnFin: number;
  /** Sequence number of this direction's first FIN (valid when finSeen). */
  finSeq: number;
  finSeen: boolean;
  /** The peer sent an ACK at or past this direction's first FIN + 1. */
  finAcked: boolean;
  /** Keep-alive-flagged frames sent while the peer's last advertised window was 0. */
  keepAlivesAtPeerZeroWindow: number;
  /** Keep-alive-flagged 1-byte frames whose byte the peer had not acknowledged yet (by the peer's tcp.ack_raw so far). */
  keepAlivesOfUnackedByte: number;
  /** Payload bytes present in some frame (the union of the seen ranges); seqSpan - seenBytes = never seen. */
  seenBytes: number;
  /** Frames tshark reassembled from IPv4 fragments (ip.fragment.count). */
  reassembled: number;
  /** tcp.len summed over those reassembled frames. */
  reassembledPayload: number;
  /** tcp.len summed over frames whose payload the snaplen cut (frame.cap_len < frame.len). */
  cutPayload: number;
  synPkts: number;
  finPkts: number;
  rstPkts: number;
  /** Zeek-history-style letter counts computed from the frames: one per new sequence number (see zeek-history.ts). */
  synLetters: number;
  finLetters: number;
  rstLetters: number;
  /** From this direction's first SYN: tcp.options.wscale.shift and tcp.options.mss_val (-1 = absent). */
  wscale: number;
  mss: number;
  synSeen: boolean;
  /** This direction's first SYN had no ACK flag (an active open). */
  pureSyn: boolean;
  /** A SYN+ACK from this direction acknowledged the peer's SYN (and at most the data in it). */
  synAckAcksPeer: boolean;
  /** This direction's first frame was an RST+ACK acknowledging the peer's SYN (a refusal). */
  refusedPeerSyn: boolean;
  /** One past the sequence space of this direction's first SYN (ISN + 1 + its payload). */
  synEnd: number;
  synIsn: number;
  // working state
  isn: number;
  seqInit: boolean;
  maxEnd: number;
  lastSynSeq: number;
  lastFinPos: number;
  lastRstSeq: number;
  /** Seen payload ranges as offsets from ISN + 1, merged, sorted: [start, end, start, end, ...]. */
  seen: number[];
  /** Raw window of the last non-RST frame, -1 before one. */
  lastWindow: number;
  /** Highest tcp.ack_raw this direction sent (valid when ackSeen). */
  highestAck: number;
  ackSeen: boolean;
}

export interface TsharkConn {
  stream: number;
  /** Sender of the stream's first frame. */
  aH: string;
  aP: number;
  bH: string;
  bP: number;
  firstTsUs: number;
  lastTsUs: number;
  /** Keyed by `${srcHost}|${srcPort}`. */
  dirs: Map<string, TsharkDir>;
}

const FIELDS = [
  'frame.time_epoch',
  'tcp.stream',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'tcp.len',
  'tcp.seq_raw',
  'tcp.options.wscale.shift',
  'tcp.options.mss_val',
  'tcp.analysis.retransmission',
  'tcp.analysis.fast_retransmission',
  'tcp.analysis.spurious_retransmission',
  'tcp.analysis.out_of_order',
  'tcp.analysis.zero_window',
  'tcp.analysis.keep_alive',
  'tcp.analysis.zero_window_probe',
  'tcp.analysis.lost_segment',
  'tcp.analysis.ack_lost_segment',
  'tcp.window_size_value',
  'ip.fragment.count',
  'tcp.ack_raw',
  'ip.len',
  'ipv6.plen',
  'frame.cap_len',
  'frame.len',
];

const F_FIN = 0x01;
const F_SYN = 0x02;
const F_RST = 0x04;
const F_ACK = 0x10;

/** '1795756900.083176000' -> integer µs (string arithmetic: no float rounding). */
export function epochTextToUs(t: string): number {
  const dot = t.indexOf('.');
  if (dot < 0) return Number(t) * 1_000_000;
  const frac = (t.slice(dot + 1) + '000000').slice(0, 6);
  return Number(t.slice(0, dot)) * 1_000_000 + Number(frac);
}

function newDir(): TsharkDir {
  return {
    packets: 0,
    ipBytes: 0,
    payloadBytes: 0,
    uniqueBytes: 0,
    seqSpan: 0,
    retransmissions: 0,
    fastRetransmissions: 0,
    spuriousRetransmissions: 0,
    payloadRetransmissions: 0,
    outOfOrder: 0,
    zeroWindows: 0,
    keepAlives: 0,
    zeroWindowProbes: 0,
    lostSegments: 0,
    ackLostSegments: 0,
    retransFillingHole: 0,
    outOfOrderRepeating: 0,
    retransNewData: 0,
    keepAlivesAtOwnFin: 0,
    finSeq: 0,
    finSeen: false,
    finAcked: false,
    keepAlivesAtPeerZeroWindow: 0,
    keepAlivesOfUnackedByte: 0,
    seenBytes: 0,
    reassembled: 0,
    reassembledPayload: 0,
    cutPayload: 0,
    synPkts: 0,
    finPkts: 0,
    rstPkts: 0,
    synLetters: 0,
    finLetters: 0,
    rstLetters: 0,
    wscale: -1,
    mss: -1,
    synSeen: false,
    pureSyn: false,
    synAckAcksPeer: false,
    refusedPeerSyn: false,
    synEnd: 0,
    synIsn: 0,
    isn: 0,
    seqInit: false,
    maxEnd: 0,
    lastSynSeq: -1,
    lastFinPos: -1,
    lastRstSeq: -1,
    seen: [],
    lastWindow: -1,
    highestAck: 0,
    ackSeen: false,
  };
}

/** a - b as a signed 32-bit distance. */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Whether [s, e) lies entirely inside the merged ranges. */
function covered(r: number[], s: number, e: number): boolean {
  for (let i = 0; i < r.length; i += 2) if (r[i] <= s && e <= r[i + 1]) return true;
  return false;
}

/** Adds [s, e) to the sorted, merged ranges. */
function addRange(r: number[], s: number, e: number): void {
  const out: number[] = [];
  let placed = false;
  for (let i = 0; i < r.length; i += 2) {
    const a = r[i];
    const b = r[i + 1];
    if (b < s) out.push(a, b);
    else if (e < a) {
      if (!placed) {
        out.push(s, e);
        placed = true;
      }
      out.push(a, b);
    } else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  if (!placed) out.push(s, e);
  r.length = 0;
  for (const v of out) r.push(v);
}

export interface TsharkResult {
  conns: TsharkConn[];
  frames: number;
  code: number | null;
  stderr: string;
}

/**
 * Runs tshark over `file` and returns one entry per tcp.stream. Frames that
 * are TCP inside an ICMP error are left out (they belong to no connection).
 */
export async function tsharkConnections(file: string): Promise<TsharkResult> {
  const args = ['-n', '-r', file, '-Y', 'tcp && !icmp && !icmpv6', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=f'];
  for (const f of FIELDS) args.push('-e', f);
  const byStream = new Map<number, TsharkConn>();
  let frames = 0;
  const out = await runLines('tshark', args, (line) => {
    const c = line.split('\t');
    if (c.length < FIELDS.length || c[1] === '') return;
    frames++;
    const tsUs = epochTextToUs(c[0]);
    const stream = Number(c[1]);
    const v6 = c[2] === '';
    const src = canonicalHost(v6 ? c[4] : c[2]);
    const dst = canonicalHost(v6 ? c[5] : c[3]);
    const sp = Number(c[6]);
    const dp = Number(c[7]);
    const flags = Number(c[8]);
    const len = Number(c[9]);
    const seq = Number(c[10]) >>> 0;
    let conn = byStream.get(stream);
    if (conn === undefined) {
      conn = { stream, aH: src, aP: sp, bH: dst, bP: dp, firstTsUs: tsUs, lastTsUs: tsUs, dirs: new Map() };
      byStream.set(stream, conn);
    }
    if (tsUs > conn.lastTsUs) conn.lastTsUs = tsUs;
    const key = `${src}|${sp}`;
    let d = conn.dirs.get(key);
    if (d === undefined) {
      d = newDir();
      conn.dirs.set(key, d);
    }
    const p = conn.dirs.get(`${dst}|${dp}`);
    const syn = (flags & F_SYN) !== 0;
    const fin = (flags & F_FIN) !== 0;
    const rst = (flags & F_RST) !== 0;
    const retr = c[13] === '1';
    const fast = c[14] === '1';
    const spur = c[15] === '1';
    const keep = c[18] === '1';
    const zwp = c[19] === '1';
    d.packets++;
    d.ipBytes += v6 ? Number(c[26]) + 40 : Number(c[25]);
    d.payloadBytes += len;
    if (len > 0 && Number(c[27]) < Number(c[28])) d.cutPayload += len;
    if (retr || fast || spur) {
      d.retransmissions++;
      if (len > 0) d.payloadRetransmissions++;
    }
    if (fast) d.fastRetransmissions++;
    if (spur) d.spuriousRetransmissions++;
    if (c[16] === '1') d.outOfOrder++;
    if (c[17] === '1') d.zeroWindows++;
    if (keep) d.keepAlives++;
    if (zwp) d.zeroWindowProbes++;
    if (keep && p !== undefined && p.lastWindow === 0) d.keepAlivesAtPeerZeroWindow++;
    if (d.packets === 1 && rst && !syn && (flags & F_ACK) !== 0 && p !== undefined && p.synSeen && p.pureSyn) {
      const a = Number(c[24]) >>> 0;
      if (seqDiff(a, p.synIsn) > 0 && seqDiff(a, p.synEnd) <= 0) d.refusedPeerSyn = true;
    }
    if (syn && !rst && (flags & F_ACK) !== 0 && p !== undefined && p.synSeen) {
      const a = Number(c[24]) >>> 0;
      // RFC 9293: SND.UNA < SEG.ACK =< SND.NXT for the peer's SYN (and the data it carried).
      if (seqDiff(a, p.synIsn) > 0 && seqDiff(a, p.synEnd) <= 0) d.synAckAcksPeer = true;
    }
    if (keep && len === 1 && p !== undefined && p.ackSeen && d.seqInit && seqDiff(p.highestAck, d.maxEnd) < 0) d.keepAlivesOfUnackedByte++;
    // A bare segment at one past the last payload byte: the place of this side's FIN (seen, or implied
    // by a later segment past it), i.e. an older ACK delayed or duplicated, not a probe of an acked byte.
    if (keep && len === 0 && d.seqInit && seq === d.maxEnd) d.keepAlivesAtOwnFin++;
    if (!rst) d.lastWindow = Number(c[22]);
    if ((flags & F_ACK) !== 0 && !rst) {
      const a = Number(c[24]) >>> 0;
      if (!d.ackSeen || seqDiff(a, d.highestAck) > 0) d.highestAck = a;
      d.ackSeen = true;
      if (p !== undefined && p.finSeen && seqDiff(a, (p.finSeq + 1) >>> 0) >= 0) p.finAcked = true;
    }
    if (c[23] !== '') {
      d.reassembled++;
      d.reassembledPayload += len;
    }
    if (c[20] === '1') d.lostSegments++;
    if (c[21] === '1') d.ackLostSegments++;
    if (!(retr || fast || spur || keep || zwp)) d.uniqueBytes += len;
    if (syn) d.synPkts++;
    if (fin) {
      d.finPkts++;
      if (!d.finSeen && !rst && len === 0 && (retr || fast || spur)) d.retransNewData++;
      if (!d.finSeen && !rst) {
        d.finSeen = true;
        d.finSeq = (seq + len + (syn ? 1 : 0)) >>> 0;
      }
    }
    if (rst) d.rstPkts++;
    if (syn && !d.synSeen) {
      d.synSeen = true;
      d.pureSyn = (flags & F_ACK) === 0;
      d.synEnd = (seq + 1 + len) >>> 0;
      d.synIsn = seq;
      d.wscale = c[11] === '' ? -1 : Number(c[11]);
      d.mss = c[12] === '' ? -1 : Number(c[12]);
    }
    // Zeek-style letters: a single one of SYN/FIN/RST, repeated on a new sequence number.
    const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits === 1) {
      if (syn) {
        if (seq !== d.lastSynSeq) d.synLetters++;
        d.lastSynSeq = seq;
      } else if (fin) {
        const pos = (seq + len) >>> 0;
        if (pos !== d.lastFinPos) d.finLetters++;
        d.lastFinPos = pos;
      } else {
        if (seq !== d.lastRstSeq) d.rstLetters++;
        d.lastRstSeq = seq;
      }
    }
    // Sequence span of the payload (RST segments left out, as their sequence numbers carry no data).
    if (!d.seqInit && !rst) {
      d.seqInit = true;
      d.isn = syn ? seq : (seq - 1) >>> 0;
      d.maxEnd = (d.isn + 1) >>> 0;
    }
    if (d.seqInit && len > 0 && !rst) {
      const start = (seq + (syn ? 1 : 0)) >>> 0;
      const end = (start + len) >>> 0;
      if (seqDiff(end, d.maxEnd) > 0 && (retr || fast || spur)) d.retransNewData++;
      if (seqDiff(end, d.maxEnd) <= 0 && !keep) {
        const s0 = seqDiff(start, (d.isn + 1) >>> 0);
        if (covered(d.seen, s0, s0 + len)) {
          if (c[16] === '1') d.outOfOrderRepeating++;
        } else if (retr || fast || spur) {
          d.retransFillingHole++;
        }
      }
      addRange(d.seen, seqDiff(start, (d.isn + 1) >>> 0), seqDiff(start, (d.isn + 1) >>> 0) + len);
      if (seqDiff(end, d.maxEnd) > 0) d.maxEnd = end;
      d.seqSpan = seqDiff(d.maxEnd, (d.isn + 1) >>> 0);
    }
  });
  const conns = [...byStream.values()].sort((x, y) => x.stream - y.stream);
  for (const conn of conns) {
    for (const d of conn.dirs.values()) {
      let n = 0;
      for (let i = 0; i < d.seen.length; i += 2) n += Math.max(0, d.seen[i + 1] - Math.max(0, d.seen[i]));
      d.seenBytes = n;
    }
  }
  return { conns, frames, code: out.code, stderr: out.stderr };
}
