import { Prng } from './prng';
import { OPTS_NONE, OPTS_SYN, OPTS_TS, PAYLOAD_REQUEST, PAYLOAD_RESPONSE, PAYLOAD_ZERO } from './tcp-frame-encoder';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

const MSS = 1448; // payload per full segment with timestamps (1500 - 20 - 32)
const SERIAL_US = 12; // one full frame at 1 Gbit/s
const DELACK_US = 40_000;

/** How a generated connection ends; counted in the generator's summary. */
export const ENDINGS = [
  'client_close',
  'server_close',
  'keepalive_close',
  'close_wait_leak',
  'stale_reuse_reset',
  'client_abort',
  'refused',
  'no_reply',
] as const;
export type Ending = (typeof ENDINGS)[number];

/** Words per scripted packet in `ConnectionScript.pkts`. */
export const STRIDE = 5;
/** Bits of the second word: TCP flags | FROM_SERVER | options << 9 | payload kind << 12. */
export const FROM_SERVER = 0x100;

/** The parameters of one connection, drawn by the generator. */
export interface ConnectionPlan {
  startUs: number;
  ending: Ending;
  /** Pooled upstream client (short RTT, long keep-alive) rather than a web client. */
  pooled: boolean;
  requests: number;
  rttUs: number;
  /** Server idle timeout before it closes a keep-alive connection. */
  keepaliveUs: number;
  /** Delay before the stale connection is reused (stale_reuse_reset). */
  reuseAfterUs: number;
  /** How long a leaked connection stays in CLOSE_WAIT before the pool finally closes it (close_wait_leak). */
  leakLifeUs: number;
  /** Request and response sizes and server think time (default MIXED_SIZES). */
  sizes?: ExchangeSizes;
}

/** The size distributions of one request/response exchange. */
export interface ExchangeSizes {
  /** Request bytes, uniform in [reqMin, reqMax], unless it is an upload (probability uploadChance, 2-40 KB). */
  reqMin: number;
  reqMax: number;
  uploadChance: number;
  /** Response bytes, log-uniform in [respMin, respMax]. */
  respMin: number;
  respMax: number;
  /** Server think time, log-uniform in [thinkMinUs, thinkMaxUs] (thinkMaxPooledUs for pooled clients). */
  thinkMinUs: number;
  thinkMaxUs: number;
  thinkMaxPooledUs: number;
}

/** The mixed workload's exchanges: small API requests, the odd upload, responses from 120 B to 16 KB. */
export const MIXED_SIZES: ExchangeSizes = {
  reqMin: 180,
  reqMax: 900,
  uploadChance: 0.06,
  respMin: 120,
  respMax: 16_000,
  thinkMinUs: 150,
  thinkMaxUs: 120_000,
  thinkMaxPooledUs: 30_000,
};

/**
 * Every packet of one connection as the capture point next to the server sees
 * it, in time order, with wire-correct sequence and acknowledgment numbers.
 * Stored as a flat number array (STRIDE words per packet): time in µs, flag
 * word, seq, ack, payload length.
 */
export class ConnectionScript {
  readonly pkts: number[] = [];
  /** Index (in packets) of the next packet to write. */
  next = 0;
  private t: number;
  private cSeq: number; // client snd.nxt
  private sSeq: number; // server snd.nxt
  private cRcv = 0; // client rcv.nxt (what the client acknowledges)
  private sRcv = 0; // server rcv.nxt

  constructor(
    readonly plan: ConnectionPlan,
    private readonly rng: Prng,
  ) {
    this.t = plan.startUs;
    this.cSeq = rng.u32();
    this.sSeq = rng.u32();
    this.build();
  }

  get length(): number {
    return this.pkts.length / STRIDE;
  }

  get endUs(): number {
    return this.pkts[this.pkts.length - STRIDE];
  }

  private push(fromServer: boolean, flags: number, len: number, kind: number, seq: number, ack: number): void {
    const opts = flags & SYN ? OPTS_SYN : flags & RST ? OPTS_NONE : OPTS_TS;
    this.pkts.push(this.t, flags | (fromServer ? FROM_SERVER : 0) | (opts << 9) | (kind << 12), seq >>> 0, ack >>> 0, len);
  }

  /** Sends from one side with its current snd.nxt / rcv.nxt; the peer receives it. */
  private send(fromServer: boolean, flags: number, len = 0, kind = PAYLOAD_ZERO): void {
    const consumed = len + (flags & (SYN | FIN) ? 1 : 0);
    if (fromServer) {
      this.push(true, flags, len, kind, this.sSeq, flags & ACK ? this.sRcv : 0);
      this.sSeq = (this.sSeq + consumed) >>> 0;
    } else {
      this.push(false, flags, len, kind, this.cSeq, flags & ACK ? this.cRcv : 0);
      this.cSeq = (this.cSeq + consumed) >>> 0;
    }
  }

  private build(): void {
    const { plan, rng } = this;
    const rtt = plan.rttUs;
    // Handshake.
    this.send(false, SYN);
    this.sRcv = this.cSeq;
    if (plan.ending === 'no_reply') {
      this.t += 1_000_000;
      this.push(false, SYN, 0, PAYLOAD_ZERO, this.cSeq - 1, 0);
      this.t += 2_000_000;
      this.push(false, SYN, 0, PAYLOAD_ZERO, this.cSeq - 1, 0);
      return;
    }
    this.t += 15;
    if (plan.ending === 'refused') {
      this.push(true, RST | ACK, 0, PAYLOAD_ZERO, 0, this.cSeq);
      return;
    }
    this.send(true, SYN | ACK);
    if (rng.chance(0.01)) {
      // The client's ACK was lost before reaching us: SYN-ACK retransmitted after 1 s.
      this.t += 1_000_000;
      this.push(true, SYN | ACK, 0, PAYLOAD_ZERO, this.sSeq - 1, this.sRcv);
    }
    this.cRcv = this.sSeq;
    this.t += rtt;
    this.send(false, ACK);

    for (let r = 0; r < plan.requests; r++) {
      if (r > 0 || rng.chance(0.5)) this.t += Math.round(rng.exp(plan.pooled ? 300_000 : 1_200_000)) + 50;
      this.exchange();
    }

    switch (plan.ending) {
      case 'client_close': {
        this.t += Math.round(rng.exp(400_000)) + 100;
        this.send(false, FIN | ACK);
        this.sRcv = this.cSeq;
        this.t += 20;
        this.send(true, FIN | ACK);
        this.cRcv = this.sSeq;
        this.t += rtt;
        this.send(false, ACK);
        this.sRcv = this.cSeq;
        return;
      }
      case 'server_close': {
        // "Connection: close": the server closes right after its response.
        this.t += 30;
        this.send(true, FIN | ACK);
        this.cRcv = this.sSeq;
        this.t += rtt;
        if (rng.chance(0.5)) {
          this.send(false, ACK);
          this.t += rng.int(50, 3000);
        }
        this.send(false, FIN | ACK);
        this.sRcv = this.cSeq;
        this.t += 20;
        this.send(true, ACK);
        return;
      }
      case 'keepalive_close': {
        this.t += plan.keepaliveUs;
        this.send(true, FIN | ACK);
        this.cRcv = this.sSeq;
        this.t += rtt;
        this.send(false, ACK);
        this.t += rng.int(100, 20_000);
        this.send(false, FIN | ACK);
        this.sRcv = this.cSeq;
        this.t += 20;
        this.send(true, ACK);
        return;
      }
      case 'close_wait_leak':
      case 'stale_reuse_reset': {
        // The server times the idle connection out; the pooled client ACKs
        // the FIN and never closes its end (CLOSE_WAIT).
        this.t += plan.keepaliveUs;
        this.send(true, FIN | ACK);
        this.cRcv = this.sSeq;
        this.t += rtt;
        this.send(false, ACK);
        if (plan.ending === 'close_wait_leak') {
          // Much later the pool evicts the idle connection and closes it; the
          // server forgot the socket long ago and answers the FIN with RST.
          // (Past the capture's end, the socket is still in CLOSE_WAIT.)
          this.t += plan.leakLifeUs;
          this.send(false, FIN | ACK);
          this.sRcv = this.cSeq;
          this.t += 25;
          this.push(true, RST, 0, PAYLOAD_ZERO, this.sSeq, 0);
        } else {
          // Later the pool hands the dead connection out again: the request
          // reaches a server that has closed the socket and answers RST.
          this.t += plan.reuseAfterUs;
          this.send(false, PSH | ACK, rng.int(200, 700), PAYLOAD_REQUEST);
          this.sRcv = this.cSeq;
          this.t += 25;
          this.push(true, RST, 0, PAYLOAD_ZERO, this.sSeq, 0);
        }
        return;
      }
      case 'client_abort': {
        this.t += Math.round(rng.exp(200_000)) + 100;
        this.send(false, RST | ACK);
        return;
      }
    }
  }

  /** One request and its response, with delayed ACKs and the odd retransmission. */
  private exchange(): void {
    const { plan, rng } = this;
    const rtt = plan.rttUs;
    const sz = plan.sizes ?? MIXED_SIZES;
    // Request: usually one segment, sometimes a multi-segment upload.
    let reqLen = rng.int(sz.reqMin, sz.reqMax);
    if (rng.chance(sz.uploadChance)) reqLen = Math.round(rng.logUniform(2000, 40_000));
    let segs = 0;
    while (reqLen > 0) {
      const len = reqLen > MSS ? MSS : reqLen;
      reqLen -= len;
      this.send(false, reqLen === 0 ? PSH | ACK : ACK, len, segs === 0 ? PAYLOAD_REQUEST : PAYLOAD_ZERO);
      this.sRcv = this.cSeq;
      segs++;
      if (segs % 2 === 0 && reqLen > 0) {
        this.t += 20;
        this.send(true, ACK);
      }
      this.t += SERIAL_US;
    }
    // Server think time; a bare ACK if the response is slower than the delayed-ACK timer.
    const think = Math.round(rng.logUniform(sz.thinkMinUs, plan.pooled ? sz.thinkMaxPooledUs : sz.thinkMaxUs));
    if (think > DELACK_US) {
      this.t += DELACK_US;
      this.send(true, ACK);
      this.t += think - DELACK_US;
    } else {
      this.t += think;
    }
    // Response in bursts of up to 10 segments; the client ACKs every second
    // segment and the last one, one RTT later.
    let respLen = Math.round(rng.logUniform(sz.respMin, sz.respMax));
    let first = true;
    while (respLen > 0) {
      const burstStart = this.sSeq;
      const ends: number[] = [];
      for (let i = 0; i < 10 && respLen > 0; i++) {
        const len = respLen > MSS ? MSS : respLen;
        respLen -= len;
        this.send(true, respLen === 0 || i === 9 ? PSH | ACK : ACK, len, first ? PAYLOAD_RESPONSE : PAYLOAD_ZERO);
        first = false;
        ends.push(this.sSeq);
        this.t += SERIAL_US;
      }
      const lastEnd = this.sSeq;
      const lastLen = (lastEnd - ends[ends.length - 2 < 0 ? 0 : ends.length - 2]) >>> 0;
      const lostAck = rng.chance(0.015);
      this.t += rtt;
      for (let i = 1; i < ends.length; i += 2) {
        if (lostAck && i === ends.length - 1) break;
        this.cRcv = ends[i];
        this.send(false, ACK);
        this.t += SERIAL_US;
      }
      if (ends.length % 2 === 1 || lostAck) {
        this.cRcv = lastEnd;
        if (!lostAck) {
          this.t += rng.int(0, DELACK_US);
          this.send(false, ACK);
        }
      }
      if (lostAck) {
        // Our capture never saw the final ACK: the server retransmits its last segment after the RTO.
        const len = ends.length === 1 ? (lastEnd - burstStart) >>> 0 : lastLen;
        this.t += 200_000 + rtt;
        this.push(true, PSH | ACK, len, PAYLOAD_ZERO, (lastEnd - len) >>> 0, this.sRcv);
        this.t += rtt;
        this.send(false, ACK);
      }
      this.t += SERIAL_US;
    }
  }
}
