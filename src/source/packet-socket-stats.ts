import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

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
 * itself; cap never reads them), so this object adds up every read. One
 * child lives as long as the capture and answers a read per line asked; the
 * last is asked for as the handle closes (the child's copy of the descriptor
 * keeps the socket until it has answered).
 */

/**
 * Reads SOL_PACKET (263) / PACKET_STATISTICS (6) on descriptor 3 for every
 * line on its standard input; struct tpacket_stats { u32 tp_packets; u32
 * tp_drops; }, tp_packets counting the dropped ones too.
 */
const READ_STATS_PL =
  'open(my $s, "+<&=", 3) or die "fd 3: $!\\n"; $| = 1; ' +
  'while (<STDIN>) { my $v = getsockopt($s, 263, 6); ' +
  'if (defined $v) { my ($p, $d) = unpack("LL", $v); print "$p $d\\n"; } else { print "error $!\\n"; } }';

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
  private readonly child: ChildProcess;
  private received = 0;
  private dropped = 0;
  /** Reads asked for and not answered yet. */
  private outstanding = 0;
  private answered = 0;
  private idleWaiters: Array<() => void> = [];
  /** False once a read failed or the reader died: the counts are then unknown. */
  private ok = true;
  private closed = false;
  private pendingText = '';

  private constructor(fd: number) {
    // One child for the whole capture (a fork per read would hold the event loop ~10-30 ms: the
    // page tables of the heap and of the capture ring are copied).
    this.child = spawn('perl', ['-e', READ_STATS_PL], { stdio: ['pipe', 'pipe', 'ignore', fd] });
    this.child.on('error', () => this.lost());
    this.child.on('exit', () => this.lost());
    this.child.stdin?.on('error', () => this.lost());
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (d: string) => this.onData(d));
    this.refresh();
  }

  /**
   * The socket opened between `before` (packetSocketInodes() taken just
   * before libpcap opened the device) and now, or null when it cannot be
   * found (not Linux): counts are then unknown.
   */
  static find(before: Set<string> | null): PacketSocketStats | null {
    if (before === null) return null;
    const after = packetSocketInodes();
    if (after === null) return null;
    const fresh = [...after].filter((i) => !before.has(i));
    if (fresh.length !== 1) return null;
    const fd = fdOfSocket(fresh);
    if (fd < 0) return null;
    return new PacketSocketStats(fd);
  }

  private onData(d: string): void {
    this.pendingText += d;
    let nl: number;
    while ((nl = this.pendingText.indexOf('\n')) >= 0) {
      const line = this.pendingText.slice(0, nl);
      this.pendingText = this.pendingText.slice(nl + 1);
      const c = parseCounts(line);
      if (c === null) this.ok = false;
      else {
        this.received += c.received;
        this.dropped += c.dropped;
      }
      this.answered++;
      if (this.outstanding > 0) this.outstanding--;
      if (this.outstanding === 0) this.wakeIdle();
    }
  }

  /** The reader ended: fine after close() once every read was answered, else the counts are unknown. */
  private lost(): void {
    if (!this.closed || this.outstanding > 0) this.ok = false;
    this.outstanding = 0;
    this.wakeIdle();
  }

  private wakeIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Counts since the open as of the last answered read; null before the first or when a read failed. */
  counts(): PacketSocketCounts | null {
    return this.ok && this.answered > 0 ? { received: this.received, dropped: this.dropped } : null;
  }

  /** Ask for a read; `counts()` includes it once it is answered. At most one waits at a time. */
  refresh(): void {
    if (this.closed || !this.ok || this.outstanding > 0) return;
    this.outstanding++;
    this.child.stdin?.write('\n');
  }

  /** The last read, asked for as the socket is closed; the reader ends after answering it. */
  close(): void {
    if (this.closed) return;
    if (this.ok) {
      this.outstanding++;
      this.child.stdin?.write('\n');
    }
    this.closed = true;
    this.child.stdin?.end();
  }

  /** Resolves when no read is waiting for its answer (after close(): the final counts are in). */
  settled(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
