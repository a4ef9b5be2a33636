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
