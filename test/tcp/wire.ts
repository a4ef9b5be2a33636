import { DecodedPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/decode/decoded-packet';
import type { FlowRecord } from '../../src/tcp/flow-record';
import { EngineOptions, TcpEngine } from '../../src/tcp/tcp-engine';

/**
 * Inline packets for engine tests: a client 'c' and a server 's' exchange
 * hand-written segments; each `seg` fills one DecodedPacket (the same reused
 * struct the decoder would fill) and feeds it to a real TcpEngine.
 */
export interface SegSpec {
  from: 'c' | 's';
  /** Any of S A F R P, e.g. 'S', 'SA', 'A', 'PA', 'FA', 'RA', 'R'. */
  flags: string;
  seq: number;
  ack?: number;
  len?: number;
  win?: number;
  /** Time since the start of the conversation, milliseconds; default: 1 ms after the previous segment. */
  atMs?: number;
  mss?: number;
  wscale?: number;
  /** Payload bytes the capture kept (snaplen); default: all of `len`. */
  captured?: number;
}

export interface WireOptions extends Partial<EngineOptions> {
  cport?: number;
  sport?: number;
  client4?: number;
  server4?: number;
  v6?: boolean;
}

export const T0 = 1_700_000_000_000_000;

export function flagBits(s: string): number {
  let f = 0;
  for (const ch of s) {
    if (ch === 'S') f |= TCP_SYN;
    else if (ch === 'A') f |= TCP_ACK;
    else if (ch === 'F') f |= TCP_FIN;
    else if (ch === 'R') f |= TCP_RST;
    else if (ch === 'P') f |= TCP_PSH;
    else throw new Error(`bad flag ${ch}`);
  }
  return f;
}

export class Wire {
  readonly flows: FlowRecord[] = [];
  readonly engine: TcpEngine;
  readonly pkt = new DecodedPacket();
  t = T0;
  cport: number;
  sport: number;
  private readonly client4: number;
  private readonly server4: number;
  private readonly v6: boolean;
  readonly client6 = new Uint32Array([0x20010db8, 0, 0, 1]);
  readonly server6 = new Uint32Array([0x20010db8, 0, 0, 2]);

  constructor(opts: WireOptions = {}) {
    this.engine = new TcpEngine({
      onFlow: (f) => this.flows.push(f),
      timeWaitUs: opts.timeWaitUs,
      idleTimeoutUs: opts.idleTimeoutUs,
      closedLingerUs: opts.closedLingerUs,
      attemptTimeoutUs: opts.attemptTimeoutUs,
    });
    this.cport = opts.cport ?? 40000;
    this.sport = opts.sport ?? 80;
    this.client4 = opts.client4 ?? 0x0a000001;
    this.server4 = opts.server4 ?? 0x0a000002;
    this.v6 = opts.v6 ?? false;
  }

  seg(spec: SegSpec): this {
    const p = this.pkt;
    const fromC = spec.from === 'c';
    if (spec.atMs !== undefined) this.t = T0 + Math.round(spec.atMs * 1000);
    else this.t += 1000;
    p.ipVersion = this.v6 ? 6 : 4;
    p.src4 = fromC ? this.client4 : this.server4;
    p.dst4 = fromC ? this.server4 : this.client4;
    p.src6.set(fromC ? this.client6 : this.server6);
    p.dst6.set(fromC ? this.server6 : this.client6);
    p.protocol = 6;
    p.tcp = true;
    p.srcPort = fromC ? this.cport : this.sport;
    p.dstPort = fromC ? this.sport : this.cport;
    p.seq = spec.seq >>> 0;
    p.ack = (spec.ack ?? 0) >>> 0;
    p.flags = flagBits(spec.flags);
    p.window = spec.win ?? 65535;
    p.payloadLen = spec.len ?? 0;
    p.capturedPayloadLen = spec.captured ?? p.payloadLen;
    p.reassembled = false;
    p.tcpHeaderLen = 20;
    p.ipLen = (this.v6 ? 40 : 20) + 20 + p.payloadLen;
    p.mss = spec.mss ?? -1;
    p.wscale = spec.wscale ?? -1;
    p.sackPermitted = false;
    this.engine.packet(p, this.t);
    return this;
  }

  /** Three-way handshake with client ISN c and server ISN s. */
  handshake(c: number, s: number, atMs?: number): this {
    this.seg({ from: 'c', flags: 'S', seq: c, atMs, mss: 1460, wscale: 7 });
    this.seg({ from: 's', flags: 'SA', seq: s, ack: c + 1, mss: 1460, wscale: 7 });
    return this.seg({ from: 'c', flags: 'A', seq: c + 1, ack: s + 1 });
  }

  /** After a handshake without payload: the client's FIN, the server's FIN+ACK, the client's last ACK. */
  clientCloses(c: number, s: number): this {
    this.seg({ from: 'c', flags: 'FA', seq: c + 1, ack: s + 1 });
    this.seg({ from: 's', flags: 'FA', seq: s + 1, ack: c + 2 });
    return this.seg({ from: 'c', flags: 'A', seq: c + 2, ack: s + 2 });
  }

  /** End of input `afterMs` after the last segment; returns every emitted flow. */
  finish(afterMs = 0): FlowRecord[] {
    this.engine.finish(this.t + afterMs * 1000);
    return this.flows;
  }

  /** Finish and return the single flow. */
  only(afterMs = 0): FlowRecord {
    const flows = this.finish(afterMs);
    if (flows.length !== 1) throw new Error(`expected one flow, got ${flows.length}`);
    return flows[0];
  }
}

/** Transitions of one endpoint as "FROM>TO" strings. */
export function path(f: FlowRecord, endpoint: 'orig' | 'resp'): string[] {
  return f.transitions.filter((t) => t.endpoint === endpoint).map((t) => `${t.from}>${t.to}`);
}
