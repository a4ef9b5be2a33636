import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';

/**
 * The kernel's own counters of a Linux packet socket (PACKET_STATISTICS):
 * packets that passed the capture filter and packets dropped because the
 * capture ring was full. libpcap's pcap_stats() reads the same counters,
 * but the `cap` binding does not expose it, so they are read here from the
 * outside: the packet socket libpcap opened is found among this process's
 * file descriptors (/proc/self/fd against /proc/self/net/packet), and a
 * short `perl` child (Debian's essential perl-base) is handed that
 * descriptor and calls getsockopt(SOL_PACKET, PACKET_STATISTICS) on it.
 *
 * The kernel resets the counters at every read (libpcap adds them up
 * itself; cap never reads them), so this object adds up every read. Reads
 * at the flushes run in a child without blocking the event loop; the last
 * one, just before the handle closes, is synchronous.
 */

/** SOL_PACKET, PACKET_STATISTICS; struct tpacket_stats { u32 tp_packets; u32 tp_drops; }. */
const READ_STATS_PL =
  'open(my $s, "+<&=", 3) or die "fd 3: $!\\n"; my $v = getsockopt($s, 263, 6); ' +
  'defined $v or die "getsockopt: $!\\n"; my ($p, $d) = unpack("LL", $v); print "$p $d\\n";';

export interface PacketSocketCounts {
  /** Packets that passed the filter: delivered plus dropped. */
  received: number;
  /** Packets dropped because the ring was full. */
  dropped: number;
}

/** Inodes of the packet sockets of this process's network namespace, or null where /proc does not say. */
export function packetSocketInodes(): Set<string> | null {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/net/packet', 'utf8');
  } catch {
    return null;
  }
  const lines = text.trim().split('\n');
  const col = lines[0].trim().split(/\s+/).indexOf('Inode');
  if (col < 0) return null;
  const out = new Set<string>();
  for (const l of lines.slice(1)) {
    const f = l.trim().split(/\s+/);
    if (f[col]) out.add(f[col]);
  }
  return out;
}

/** The file descriptor of this process that is the socket with one of `inodes`, or -1. */
function fdOfSocket(inodes: readonly string[]): number {
  let fds: string[];
  try {
    fds = fs.readdirSync('/proc/self/fd');
  } catch {
    return -1;
  }
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  for (const f of fds) {
    try {
      if (wanted.has(fs.readlinkSync(`/proc/self/fd/${f}`))) return Number(f);
    } catch {
      // closed meanwhile
    }
  }
  return -1;
}

function parseCounts(out: string): PacketSocketCounts | null {
  const m = /^(\d+) (\d+)\s*$/.exec(out);
  return m ? { received: Number(m[1]), dropped: Number(m[2]) } : null;
}

export class PacketSocketStats {
  private readonly fd: number;
  private received = 0;
  private dropped = 0;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** False once a read failed: the counts are then unknown. */
  private ok = true;
  private closed = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /**
   * The socket opened between `before` (packetSocketInodes() taken just
   * before libpcap opened the device) and now, or null when it cannot be
   * found or read (not Linux, no perl): counts are then unknown.
   */
  static find(before: Set<string> | null): PacketSocketStats | null {
    if (before === null) return null;
    const after = packetSocketInodes();
    if (after === null) return null;
    const fresh = [...after].filter((i) => !before.has(i));
    if (fresh.length !== 1) return null;
    const fd = fdOfSocket(fresh);
    if (fd < 0) return null;
    const stats = new PacketSocketStats(fd);
    // One read now: it starts the counts at the open, and it tells whether perl can read them at all.
    return stats.readSync() ? stats : null;
  }

  /** Counts since the open, or null when a read failed. Includes reads still in flight only once they are back. */
  counts(): PacketSocketCounts | null {
    return this.ok ? { received: this.received, dropped: this.dropped } : null;
  }

  private add(c: PacketSocketCounts | null): void {
    if (c === null) this.ok = false;
    else {
      this.received += c.received;
      this.dropped += c.dropped;
    }
  }

  /** Read the counters now, blocking for the child's run (a few ms). False when it failed. */
  readSync(): boolean {
    if (this.closed) return this.ok;
    const r = spawnSync('perl', ['-e', READ_STATS_PL], { stdio: ['ignore', 'pipe', 'ignore', this.fd], encoding: 'utf8', timeout: 5000 });
    const c = r.status === 0 ? parseCounts(r.stdout) : null;
    this.add(c);
    return c !== null;
  }

  /** Start a read in a child process; `counts()` includes it once it is back. At most one at a time. */
  refresh(): void {
    if (this.closed || this.inFlight > 0 || !this.ok) return;
    let child;
    try {
      child = spawn('perl', ['-e', READ_STATS_PL], { stdio: ['ignore', 'pipe', 'ignore', this.fd] });
    } catch {
      this.ok = false;
      return;
    }
    this.inFlight++;
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => (out += d));
    let finished = false;
    const done = (code: number | null): void => {
      if (finished) return;
      finished = true;
      this.add(code === 0 ? parseCounts(out) : null);
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
    child.on('error', () => done(null));
    child.on('close', (code) => done(code));
  }

  /** The last read, synchronously, before the socket is closed; no reads after it. */
  close(): void {
    if (this.closed) return;
    this.readSync();
    this.closed = true;
  }

  /** Resolves when no read is in flight (every read's counts are in). */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
