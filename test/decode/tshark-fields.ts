import { spawnSync } from 'node:child_process';

/** What tshark says about one frame (first value of each field). */
export interface TsharkFrame {
  /** Integer µs since the epoch, or null when the frame has no timestamp. */
  tsUs: number | null;
  frameLen: number;
  capLen: number;
  ipSrc: string;
  ipv6Src: string;
  tcp: boolean;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  tcpLen: number;
  mss: number;
  wscale: number;
  tsval: number;
  /** First 802.1Q VLAN id, -1 without such a tag. */
  vlan: number;
  /** 802.1ad (QinQ service) tag id, -1 without. */
  qinq: number;
}

const FIELDS = [
  'frame.time_epoch',
  'frame.len',
  'frame.cap_len',
  'ip.src',
  'ipv6.src',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.flags',
  'tcp.len',
  'tcp.options.mss_val',
  'tcp.options.wscale.shift',
  'tcp.options.timestamp.tsval',
  'vlan.id',
  'ieee8021ad.id',
];

export function tsharkAvailable(): boolean {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** '1795755155.223776123' -> integer µs (truncated, like the readers). */
export function epochToUs(s: string): number {
  const [sec, frac = ''] = s.split('.');
  return Number(sec) * 1e6 + Number((frac + '000000').slice(0, 6));
}

/**
 * Dissect `file` with tshark. IPv4 reassembly is on, as in our decoder (the
 * frame completing a fragmented datagram carries its TCP header, fragments
 * before it none); IPv6 reassembly is off, so IPv6 fragments stand alone.
 */
export function tsharkFrames(file: string): TsharkFrame[] {
  const args = ['-r', file, '-n', '-o', 'ip.defragment:TRUE', '-o', 'ipv6.defragment:FALSE', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=f'];
  for (const f of FIELDS) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark failed on ${file}: ${r.stderr}`);
  const num = (s: string): number => (s === '' ? -1 : Number(s));
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const c = line.split('\t');
      return {
        tsUs: c[0] === '' ? null : epochToUs(c[0]),
        frameLen: num(c[1]),
        capLen: num(c[2]),
        ipSrc: c[3],
        ipv6Src: c[4],
        tcp: c[5] !== '',
        srcPort: num(c[5]),
        dstPort: num(c[6]),
        seq: num(c[7]),
        ack: num(c[8]),
        flags: c[9] === '' ? -1 : Number(c[9]) & 0xff,
        tcpLen: num(c[10]),
        mss: num(c[11]),
        wscale: num(c[12]),
        tsval: num(c[13]),
        vlan: num(c[14] ?? ''),
        qinq: num(c[15] ?? ''),
      };
    });
}
