import { canonicalHost, runLines } from './tool-run';

/**
 * `tcptrace -n -l FILE` parsed: one entry per TCP connection tcptrace traced,
 * with the two-column per-direction block (a->b, b->a) as label -> value
 * maps. Times are printed in local time, so tcptrace runs with TZ=UTC.
 */
export interface TcptraceDir {
  host: string;
  port: number;
  /** Every "label: value" of this direction's column, the value without its unit. */
  values: Map<string, string>;
}

export interface TcptraceConn {
  index: number;
  /** "yes", "no" or "RESET" (the text before any "(SYNs: n) (FINs: n)"). */
  complete: string;
  firstTsUs: number;
  lastTsUs: number;
  a: TcptraceDir;
  b: TcptraceDir;
}

export interface TcptraceResult {
  conns: TcptraceConn[];
  /** "N TCP packets traced" from the header (0 when the link type or encapsulation was not understood). */
  tcpPacketsTraced: number;
  code: number | null;
  stderr: string;
  /** First line of output that explains a refusal (unsupported link format, pcap error...). */
  complaint: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** 'Fri Nov 27 05:20:45.923480 2026' (UTC) -> µs. */
export function tcptraceTimeToUs(s: string): number {
  const m = /^\w+ (\w+)\s+(\d+) (\d+):(\d+):(\d+)\.(\d+) (\d+)$/.exec(s.trim());
  if (!m) return NaN;
  const month = MONTHS.indexOf(m[1]);
  const secs = Date.UTC(Number(m[7]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) / 1000;
  return secs * 1_000_000 + Number((m[6] + '000000').slice(0, 6));
}

function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [canonicalHost(s.slice(0, i)), Number(s.slice(i + 1))];
}

/** '     total packets:     6      total packets:     4   ' -> [['total packets','6'],['total packets','4']] */
const PAIR = /^\s+([A-Za-z0-9 /]+?):\s+(\S+)(?: (?:bytes|pkts|times|secs|ms|Bps))?\s+([A-Za-z0-9 /]+?):\s+(\S+)/;

export async function tcptraceConnections(file: string): Promise<TcptraceResult> {
  const conns: TcptraceConn[] = [];
  let cur: TcptraceConn | null = null;
  let traced = 0;
  let complaint = '';
  const out = await runLines(
    'tcptrace',
    ['-n', '-l', file],
    (line) => {
      let m: RegExpExecArray | null;
      if ((m = /^(\d+) packets seen, (\d+) TCP packets traced/.exec(line))) {
        traced = Number(m[2]);
      } else if ((m = /^TCP connection (\d+):/.exec(line))) {
        cur = {
          index: Number(m[1]),
          complete: '',
          firstTsUs: NaN,
          lastTsUs: NaN,
          a: { host: '', port: 0, values: new Map() },
          b: { host: '', port: 0, values: new Map() },
        };
        conns.push(cur);
      } else if (cur !== null && (m = /^\thost \w+:\s+(\S+)/.exec(line))) {
        const c: TcptraceConn = cur;
        const side = c.a.host === '' ? c.a : c.b;
        [side.host, side.port] = splitHostPort(m[1]);
      } else if (cur !== null && (m = /^\tcomplete conn:\s+(\w+)/.exec(line))) {
        (cur as TcptraceConn).complete = m[1];
      } else if (cur !== null && (m = /^\tfirst packet:\s+(.+)$/.exec(line))) {
        (cur as TcptraceConn).firstTsUs = tcptraceTimeToUs(m[1]);
      } else if (cur !== null && (m = /^\tlast packet:\s+(.+)$/.exec(line))) {
        (cur as TcptraceConn).lastTsUs = tcptraceTimeToUs(m[1]);
      } else if (cur !== null && (m = PAIR.exec(line))) {
        const c: TcptraceConn = cur;
        c.a.values.set(m[1], m[2]);
        c.b.values.set(m[3], m[4]);
      } else if (complaint === '' && /did not understand|PCAP error|Unknown input file format|not supported/i.test(line)) {
        complaint = line.trim();
      }
    },
    { ...process.env, TZ: 'UTC' },
  );
  if (complaint === '') {
    const m = /(did not understand[^\n]*|PCAP error[^\n]*|Unknown input file format)/.exec(out.stderr);
    if (m) complaint = m[1].trim();
  }
  return { conns, tcpPacketsTraced: traced, code: out.code, stderr: out.stderr, complaint };
}

/** 'Y/N' -> [true, false]; '1/0' -> [1, 0]. */
export function pairValue(v: string | undefined): [string, string] {
  const [x, y] = (v ?? '/').split('/');
  return [x, y];
}

/** Counters that add up when one connection is split into consecutive records. */
const SUMMED = [
  'total packets',
  'ack pkts sent',
  'pure acks sent',
  'unique bytes sent',
  'actual data pkts',
  'actual data bytes',
  'rexmt data pkts',
  'rexmt data bytes',
  'zwnd probe pkts',
  'outoforder pkts',
  'resets sent',
  'zero win adv',
];

/**
 * `later` is a record tcptrace started for packets of `first`'s connection:
 * the counters of both, per host:port, added up (options and sizes from
 * `first`, which holds the handshake).
 */
export function mergeTcptrace(first: TcptraceConn, later: TcptraceConn): TcptraceConn {
  const mergeDir = (d: TcptraceDir): TcptraceDir => {
    const o = later.a.host === d.host && later.a.port === d.port ? later.a : later.b;
    const values = new Map(d.values);
    for (const k of SUMMED) {
      const x = Number(d.values.get(k) ?? '0');
      const y = Number(o.values.get(k) ?? '0');
      if (d.values.has(k) || o.values.has(k)) values.set(k, String(x + y));
    }
    const [s1, f1] = pairValue(d.values.get('SYN/FIN pkts sent'));
    const [s2, f2] = pairValue(o.values.get('SYN/FIN pkts sent'));
    values.set('SYN/FIN pkts sent', `${Number(s1) + Number(s2)}/${Number(f1) + Number(f2)}`);
    return { host: d.host, port: d.port, values };
  };
  const a = mergeDir(first.a);
  const b = mergeDir(first.b);
  const synFin = (d: TcptraceDir): [number, number] => {
    const [x, y] = pairValue(d.values.get('SYN/FIN pkts sent'));
    return [Number(x), Number(y)];
  };
  const reset = first.complete === 'RESET' || later.complete === 'RESET';
  const [sa, fa] = synFin(a);
  const [sb, fb] = synFin(b);
  const complete = reset ? 'RESET' : sa > 0 && sb > 0 && fa > 0 && fb > 0 ? 'yes' : 'no';
  return { index: first.index, complete, firstTsUs: first.firstTsUs, lastTsUs: later.lastTsUs, a, b };
}

/** FIN segments in a tcptrace record, both directions. */
export function finCount(c: TcptraceConn): number {
  return Number(pairValue(c.a.values.get('SYN/FIN pkts sent'))[1]) + Number(pairValue(c.b.values.get('SYN/FIN pkts sent'))[1]);
}

/** SYN segments in a tcptrace record, both directions. */
export function synCount(c: TcptraceConn): number {
  return Number(pairValue(c.a.values.get('SYN/FIN pkts sent'))[0]) + Number(pairValue(c.b.values.get('SYN/FIN pkts sent'))[0]);
}
