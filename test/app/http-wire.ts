import { DecodedPacket } from '../../src/decode/decoded-packet';
import type { FlowRecord } from '../../src/tcp/flow-record';
import { TcpEngine } from '../../src/tcp/tcp-engine';
import { flagBits, T0 } from '../tcp/wire';

/** Bytes before the payload in each test packet buffer, so that payloadOff is not 0 (as behind real headers). */
const HEADROOM = 54;

export interface SendOptions {
  /** Bytes of the payload captured (the snaplen cut); default all. */
  cap?: number;
  /** Sequence number of the first byte; default the sender's next one (and then it does not advance). */
  seq?: number;
  /** Milliseconds since the start; default 1 ms after the previous segment. */
  atMs?: number;
  flags?: string;
}

/**
 * Inline HTTP conversations for the application-layer tests: a client 'c'
 * and a server 's' send payload bytes through one reused DecodedPacket and a
 * real TcpEngine with `app: true`, the bytes lent in a packet buffer at an
 * offset the way the decoder lends them. Sequence and acknowledgment
 * numbers are kept per side.
 */
export class HttpWire {
  readonly flows: FlowRecord[] = [];
  readonly engine = new TcpEngine({ onFlow: (f) => this.flows.push(f), app: true });
  private readonly pkt = new DecodedPacket();
  t = T0;
  cseq = 1000;
  sseq = 5000;
  sport: number;

  constructor(sport = 80) {
    this.sport = sport;
  }

  private emit(from: 'c' | 's', flags: string, seq: number, payload: Uint8Array, cap: number, atMs?: number): void {
    const p = this.pkt;
    const fromC = from === 'c';
    this.t = atMs !== undefined ? T0 + Math.round(atMs * 1000) : this.t + 1000;
    p.ipVersion = 4;
    p.src4 = fromC ? 0x0a000001 : 0x0a000002;
    p.dst4 = fromC ? 0x0a000002 : 0x0a000001;
    p.protocol = 6;
    p.tcp = true;
    p.srcPort = fromC ? 40000 : this.sport;
    p.dstPort = fromC ? this.sport : 40000;
    p.seq = seq >>> 0;
    p.ack = (fromC ? this.sseq : this.cseq) >>> 0;
    p.flags = flagBits(flags);
    p.window = 65535;
    p.payloadLen = payload.length;
    p.tcpHeaderLen = 20;
    p.ipLen = 40 + payload.length;
    p.mss = -1;
    p.wscale = -1;
    const buf = Buffer.alloc(HEADROOM + cap, 0xee);
    buf.set(payload.subarray(0, cap), HEADROOM);
    p.payloadOff = HEADROOM;
    p.capturedPayloadLen = cap;
    this.engine.packet(p, this.t, buf);
  }

  handshake(atMs?: number): this {
    this.emit('c', 'S', this.cseq - 1, new Uint8Array(0), 0, atMs);
    this.emit('s', 'SA', this.sseq - 1, new Uint8Array(0), 0);
    this.emit('c', 'A', this.cseq, new Uint8Array(0), 0);
    return this;
  }

  send(from: 'c' | 's', data: string | Uint8Array, opts: SendOptions = {}): this {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const own = opts.seq === undefined;
    const seq = opts.seq ?? (from === 'c' ? this.cseq : this.sseq);
    this.emit(from, opts.flags ?? 'PA', seq, bytes, Math.min(opts.cap ?? bytes.length, bytes.length), opts.atMs);
    if (own) {
      if (from === 'c') this.cseq += bytes.length;
      else this.sseq += bytes.length;
    }
    return this;
  }

  /** Advance a side's sequence number without sending (bytes the capture never saw). */
  skip(from: 'c' | 's', n: number): this {
    if (from === 'c') this.cseq += n;
    else this.sseq += n;
    return this;
  }

  ack(from: 'c' | 's', atMs?: number): this {
    this.emit(from, 'A', from === 'c' ? this.cseq : this.sseq, new Uint8Array(0), 0, atMs);
    return this;
  }

  fin(from: 'c' | 's', atMs?: number): this {
    this.emit(from, 'FA', from === 'c' ? this.cseq : this.sseq, new Uint8Array(0), 0, atMs);
    if (from === 'c') this.cseq++;
    else this.sseq++;
    return this;
  }

  rst(from: 'c' | 's', atMs?: number): this {
    this.emit(from, 'R', from === 'c' ? this.cseq : this.sseq, new Uint8Array(0), 0, atMs);
    return this;
  }

  only(): FlowRecord {
    this.engine.finish(this.t + 1000);
    if (this.flows.length !== 1) throw new Error(`expected one flow, got ${this.flows.length}`);
    return this.flows[0];
  }
}

export const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: api.example\r\nUser-Agent: test-agent/1.0\r\n${extra}\r\n`;
export const OK = (body: string, extra = ''): string =>
  `HTTP/1.1 200 OK\r\nServer: test-server/2.1\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
