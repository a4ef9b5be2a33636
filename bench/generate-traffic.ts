import fs from 'node:fs';
import { ConnectionScript, ENDINGS, FROM_SERVER, STRIDE, type ConnectionPlan, type Ending, type ExchangeSizes } from './connection-script';
import { PcapFileWriter } from './pcap-file-writer';
import { Prng } from './prng';
import { FrameSpec, encodeFrame, frameLength } from './tcp-frame-encoder';

/**
 * Deterministic generator of realistic TCP traffic as a classic pcap file:
 * many interleaved connections (handshakes, keep-alive request/response
 * exchanges, multi-segment uploads, retransmissions, normal closes by either
 * side, CLOSE_WAIT leaks that the pool closes minutes later, stale-connection
 * reuse answered by RST, refused and unanswered SYNs). Connections arrive as
 * a Poisson process and every one of them ends, so `repeat` makes the file N
 * times longer with the same number of connections open at a time. The
 * capture stops `tailS` after the last arrival: connections still open then
 * (some of them in CLOSE_WAIT) have their later packets cut off, as in a
 * real capture. Written streaming: memory follows the open connections only.
 */
export type Profile = 'mixed' | 'busy-proxy';
export const PROFILES: readonly Profile[] = ['mixed', 'busy-proxy'];

export interface GenerateOptions {
  out: string;
  /**
   * 'mixed' (default): pooled upstream clients and web clients at 70 new
   * connections a second, headers only (snaplen 128). 'busy-proxy': a proxy's
   * front end at 2,300 new connections a second, one to three requests of
   * 300-800 B each answered with 1.2-8 KB over several full-size segments,
   * every tenth connection leaked into CLOSE_WAIT (the server's FIN is ACKed,
   * the client never closes), full packets captured (snaplen 65535), and a
   * capture that stops 1 s after the last arrival: with 50,000 connections
   * (~22 s) every closed one is still in TIME_WAIT at the end.
   */
  profile?: Profile;
  /** Connections per repeat (default 50,000). */
  connections?: number;
  /** Multiplies the duration (and connection count) at the same arrival rate. */
  repeat?: number;
  seed?: number;
  /** New connections per second (default 70: about 1,500-2,000 open at a time; busy-proxy 2,300). */
  rate?: number;
  snaplen?: number;
  /** Share of web connections carried over IPv6 (default 0.02). */
  ipv6Share?: number;
  /** The capture stops this long after the last connection started (default 30 s; busy-proxy 1 s). */
  tailS?: number;
  /**
   * Also write the ground truth here as CSV, one line per connection:
   * orig_h,orig_p,resp_h,resp_p,first_ts,ending,complete (complete = 0 when
   * the capture stopped before the connection's last packet).
   */
  truthFile?: string;
}

export interface GenerateSummary {
  file: string;
  profile: Profile;
  seed: number;
  repeat: number;
  rate: number;
  snaplen: number;
  connections: number;
  ipv6Connections: number;
  packets: number;
  fileBytes: number;
  wireBytes: number;
  firstTs: number;
  lastTs: number;
  durationS: number;
  /** Most connections between their first and last packet at one time. */
  peakActive: number;
  meanActive: number;
  /** Connections still going when the capture stopped (their later packets are not in the file). */
  openAtEnd: number;
  endings: Record<Ending, number>;
}

const T0_US = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

interface Conn {
  id: number;
  script: ConnectionScript;
  v6: boolean;
  client: number;
  clientHi: number;
  server: number;
  serverHi: number;
  clientPort: number;
  serverPort: number;
  tupleKey: number;
  clientTsOff: number;
  serverTsOff: number;
}

/** Min-heap of connections ordered by the time of their next packet (ties by id). */
class ConnHeap {
  private a: Conn[] = [];
  get size(): number {
    return this.a.length;
  }
  private key(c: Conn): number {
    return c.script.pkts[c.script.next * STRIDE];
  }
  private less(x: Conn, y: Conn): boolean {
    const kx = this.key(x);
    const ky = this.key(y);
    return kx < ky || (kx === ky && x.id < y.id);
  }
  peek(): Conn | undefined {
    return this.a[0];
  }
  push(c: Conn): void {
    const a = this.a;
    let i = a.length;
    a.push(c);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): Conn {
    const a = this.a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

const WEB_SERVERS = [ipv4(10, 1, 0, 1), ipv4(10, 1, 0, 2), ipv4(10, 1, 0, 3), ipv4(10, 1, 0, 4)];
const BACKEND = ipv4(10, 1, 1, 10);
const POOL_HOSTS = 24;
const WEB_CLIENTS = 4000;

const PROXY = ipv4(10, 4, 0, 1);
const PROXY_CLIENTS = 8000;

/** A proxy's front end: small requests, responses of a few full-size segments. */
const PROXY_SIZES: ExchangeSizes = {
  reqMin: 300,
  reqMax: 800,
  uploadChance: 0,
  respMin: 1_200,
  respMax: 8_000,
  thinkMinUs: 300,
  thinkMaxUs: 25_000,
  thinkMaxPooledUs: 25_000,
};

/** Connection `index` of the busy-proxy profile: every tenth one leaks into CLOSE_WAIT. */
function drawProxyPlan(rng: Prng, startUs: number, index: number): ConnectionPlan {
  const e = rng.float();
  const n = rng.float();
  return {
    startUs,
    pooled: false,
    ending: index % 10 === 9 ? 'close_wait_leak' : e < 0.65 ? 'client_close' : 'server_close',
    requests: n < 0.7 ? 1 : n < 0.9 ? 2 : 3,
    rttUs: Math.round(rng.logUniform(200, 20_000)),
    // close_wait_leak: the server's idle timeout, then the client ACKs its FIN and never closes
    // (its own FIN would come minutes later, long after the capture stopped).
    keepaliveUs: rng.int(200_000, 3_000_000),
    reuseAfterUs: 0,
    leakLifeUs: Math.round(rng.logUniform(60_000_000, 480_000_000)),
    sizes: PROXY_SIZES,
  };
}

function drawPlan(rng: Prng, startUs: number): ConnectionPlan {
  const pooled = rng.chance(0.35);
  const plan: ConnectionPlan = {
    startUs,
    pooled,
    ending: 'client_close',
    requests: 1,
    rttUs: pooled ? rng.int(80, 600) : Math.round(rng.logUniform(4_000, 90_000)),
    keepaliveUs: 0,
    reuseAfterUs: 0,
    leakLifeUs: 0,
  };
  const u = rng.float();
  if (u < 0.02) {
    plan.ending = 'refused';
    return plan;
  }
  if (u < 0.025) {
    plan.ending = 'no_reply';
    return plan;
  }
  const e = rng.float();
  if (pooled) {
    plan.requests = 1 + Math.floor(rng.exp(2.2));
    plan.keepaliveUs = 65_000_000 + rng.int(0, 4_000);
    plan.ending = e < 0.5 ? 'keepalive_close' : e < 0.62 ? 'close_wait_leak' : e < 0.7 ? 'stale_reuse_reset' : 'client_close';
    plan.reuseAfterUs = Math.round(rng.logUniform(2_000_000, 240_000_000));
    plan.leakLifeUs = Math.round(rng.logUniform(60_000_000, 480_000_000));
  } else {
    plan.requests = 1 + Math.floor(rng.exp(0.8));
    plan.keepaliveUs = 75_000_000 + rng.int(0, 4_000);
    plan.ending = e < 0.55 ? 'client_close' : e < 0.8 ? 'server_close' : e < 0.95 ? 'keepalive_close' : 'client_abort';
  }
  return plan;
}

export function generateTraffic(opts: GenerateOptions): GenerateSummary {
  const profile = opts.profile ?? 'mixed';
  const proxy = profile === 'busy-proxy';
  const perRepeat = opts.connections ?? 50_000;
  const repeat = opts.repeat ?? 1;
  const seed = opts.seed ?? 1;
  const rate = opts.rate ?? (proxy ? 2300 : 70);
  const snaplen = opts.snaplen ?? (proxy ? 65535 : 128);
  const ipv6Share = opts.ipv6Share ?? (proxy ? 0 : 0.02);
  const total = perRepeat * repeat;
  const rng = new Prng(seed);
  const writer = new PcapFileWriter(opts.out, snaplen, 1);
  const heap = new ConnHeap();
  const usedTuples = new Set<number>();
  const spec = new FrameSpec();
  const endings = Object.fromEntries(ENDINGS.map((k) => [k, 0])) as Record<Ending, number>;
  let created = 0;
  let ipv6Connections = 0;
  let nextStart = T0_US;
  let wireBytes = 0;
  let peakActive = 0;
  let activeUsSum = 0;
  let lastTs = T0_US;
  let ipId = rng.int(0, 65535);
  let endUs = Infinity;
  const truthFd = opts.truthFile ? fs.openSync(opts.truthFile, 'w') : -1;
  let truth = truthFd >= 0 ? 'orig_h,orig_p,resp_h,resp_p,first_ts,ending,complete\n' : '';
  const addrText = (c: Conn, server: boolean): string => {
    const a = server ? c.server : c.client;
    if (!c.v6) return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
    const hi = server ? c.serverHi : c.clientHi;
    // fd00:0:0:0:0:HI:0:LO with both parts below 65536 (RFC 5952 text).
    return `fd00::${hi.toString(16)}:0:${a.toString(16)}`;
  };
  const recordTruth = (c: Conn, complete: boolean): void => {
    if (truthFd < 0) return;
    truth += `${addrText(c, false)},${c.clientPort},${addrText(c, true)},${c.serverPort},${(c.script.plan.startUs / 1e6).toFixed(6)},${c.script.plan.ending},${complete ? 1 : 0}\n`;
    if (truth.length > 1 << 16) {
      fs.writeSync(truthFd, truth);
      truth = '';
    }
  };
  const tailUs = Math.round((opts.tailS ?? (proxy ? 1 : 30)) * 1e6);

  const createConn = (startUs: number): Conn => {
    const script = new ConnectionScript(proxy ? drawProxyPlan(rng, startUs, created) : drawPlan(rng, startUs), rng);
    const plan = script.plan;
    endings[plan.ending]++;
    const v6 = !proxy && !plan.pooled && rng.chance(ipv6Share);
    let clientIndex: number;
    let client: number;
    let clientHi = 0;
    let server: number;
    let serverHi = 0;
    let serverPort: number;
    if (proxy) {
      const h = rng.int(0, PROXY_CLIENTS - 1);
      client = ipv4(10, 5, h >> 8, (h & 0xff) + 1);
      clientIndex = 200_000 + h;
      server = PROXY;
      serverPort = 443;
    } else if (plan.pooled) {
      const h = rng.int(1, POOL_HOSTS);
      client = ipv4(10, 3, 0, h);
      clientIndex = h;
      server = BACKEND;
      serverPort = 8080;
    } else if (v6) {
      const h = rng.int(1, 400);
      client = h;
      clientHi = 2;
      clientIndex = 100_000 + h;
      server = 1;
      serverHi = 1;
      serverPort = 443;
      ipv6Connections++;
    } else {
      const h = rng.int(0, WEB_CLIENTS - 1);
      client = ipv4(10, 2, h >> 8, (h & 0xff) + 1);
      clientIndex = 1_000 + h;
      server = WEB_SERVERS[rng.int(0, WEB_SERVERS.length - 1)];
      serverPort = rng.chance(0.7) ? 443 : 80;
    }
    let clientPort = rng.int(32768, 60999);
    while (usedTuples.has(clientIndex * 65536 + clientPort)) clientPort = rng.int(32768, 60999);
    const tupleKey = clientIndex * 65536 + clientPort;
    usedTuples.add(tupleKey);
    return {
      id: created,
      script,
      v6,
      client,
      clientHi,
      server,
      serverHi,
      clientPort,
      serverPort,
      tupleKey,
      clientTsOff: rng.u32(),
      serverTsOff: rng.u32(),
    };
  };

  while (created < total || heap.size > 0) {
    const top = heap.peek();
    if (created < total && (top === undefined || nextStart <= top.script.pkts[top.script.next * STRIDE])) {
      heap.push(createConn(nextStart));
      created++;
      if (created === total) endUs = nextStart + tailUs;
      nextStart += Math.max(1, Math.round(rng.exp(1e6 / rate)));
      continue;
    }
    // The capture stops: whatever comes later is not in the file.
    if (top !== undefined && top.script.pkts[top.script.next * STRIDE] > endUs) break;
    const c = heap.pop();
    const s = c.script;
    const i = s.next * STRIDE;
    const t = s.pkts[i];
    const word = s.pkts[i + 1];
    const fromServer = (word & FROM_SERVER) !== 0;
    const rttMs = Math.round(s.plan.rttUs / 1000);
    const ms = Math.floor((t - T0_US) / 1000);
    spec.v6 = c.v6;
    if (fromServer) {
      spec.src = c.server;
      spec.src6hi = c.serverHi;
      spec.dst = c.client;
      spec.dst6hi = c.clientHi;
      spec.srcPort = c.serverPort;
      spec.dstPort = c.clientPort;
      spec.window = word & 0x02 ? 65160 : 509;
      spec.tsVal = (c.serverTsOff + ms) >>> 0;
      spec.tsEcr = (c.clientTsOff + ms - rttMs) >>> 0;
    } else {
      spec.src = c.client;
      spec.src6hi = c.clientHi;
      spec.dst = c.server;
      spec.dst6hi = c.serverHi;
      spec.srcPort = c.clientPort;
      spec.dstPort = c.serverPort;
      spec.window = word & 0x02 ? 64240 : 502;
      spec.tsVal = (c.clientTsOff + ms) >>> 0;
      spec.tsEcr = word & 0x10 ? (c.serverTsOff + ms - rttMs) >>> 0 : 0;
    }
    spec.flags = word & 0xff;
    spec.opts = (word >> 9) & 0x7;
    spec.payloadKind = (word >> 12) & 0xf;
    spec.seq = s.pkts[i + 2];
    spec.ack = s.pkts[i + 3];
    spec.payloadLen = s.pkts[i + 4];
    spec.ipId = ipId = (ipId + 1) & 0xffff;
    const len = frameLength(spec);
    wireBytes += len;
    const off = writer.reserve(t, len);
    encodeFrame(spec, writer.buf, off, len < snaplen ? len : snaplen);
    if (heap.size + 1 > peakActive) peakActive = heap.size + 1;
    activeUsSum += (heap.size + 1) * (t - lastTs);
    lastTs = t;
    s.next++;
    if (s.next < s.length) {
      heap.push(c);
    } else {
      // A busy proxy's 4-tuples are never reused within its short capture (each closed one is in TIME_WAIT).
      if (!proxy) usedTuples.delete(c.tupleKey);
      recordTruth(c, true);
    }
  }
  writer.close();
  const openAtEnd = heap.size;
  if (truthFd >= 0) {
    while (heap.size > 0) recordTruth(heap.pop(), false);
    fs.writeSync(truthFd, truth);
    fs.closeSync(truthFd);
  }
  const durationS = (lastTs - T0_US) / 1e6;
  return {
    file: opts.out,
    profile,
    seed,
    repeat,
    rate,
    snaplen,
    connections: total,
    ipv6Connections,
    packets: writer.records,
    fileBytes: writer.bytes,
    wireBytes,
    firstTs: T0_US / 1e6,
    lastTs: lastTs / 1e6,
    durationS,
    peakActive,
    openAtEnd,
    meanActive: durationS > 0 ? Math.round(activeUsSum / (lastTs - T0_US)) : 0,
    endings,
  };
}

function parseArgs(argv: string[]): GenerateOptions {
  const o: GenerateOptions = { out: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${a} needs a positive number`);
      return n;
    };
    if (a === '--out' || a === '-o') o.out = argv[++i] ?? '';
    else if (a === '--profile') {
      const p = argv[++i] as Profile;
      if (!PROFILES.includes(p)) throw new Error(`--profile is one of ${PROFILES.join(', ')}`);
      o.profile = p;
    }
    else if (a === '--connections') o.connections = Math.round(v());
    else if (a === '--repeat') o.repeat = Math.round(v());
    else if (a === '--seed') o.seed = Math.round(v());
    else if (a === '--rate') o.rate = v();
    else if (a === '--snaplen') o.snaplen = Math.round(v());
    else if (a === '--ipv6-share') o.ipv6Share = Number(argv[++i]);
    else if (a === '--tail') o.tailS = v();
    else if (a === '--truth') o.truthFile = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.out) throw new Error('usage: generate-traffic --out FILE.pcap [--profile mixed|busy-proxy] [--connections N] [--repeat N] [--seed N] [--rate CONN_PER_S] [--snaplen N] [--tail S] [--truth FILE.csv]');
  return o;
}

if (require.main === module) {
  try {
    const summary = generateTraffic(parseArgs(process.argv.slice(2)));
    fs.writeFileSync(`${summary.file}.summary.json`, JSON.stringify(summary, null, 2) + '\n');
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  } catch (e) {
    process.stderr.write(`generate-traffic: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}
