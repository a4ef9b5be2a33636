import type { FlowRecord, SocketOwner } from '../tcp/flow-record';
import { readKernelTcpSockets, type KernelTcpSocket } from './proc-net-tcp';
import { findSocketHolders, type SocketHolder } from './socket-inodes';

const TCP_LISTEN = 10;

export interface SocketOwnerResolverOptions {
  /** Where the TCP tables are: `/proc/net` (this namespace) by default. */
  netDir?: string;
  /** Where the process directories are: `/proc` by default. */
  procRoot?: string;
  /**
   * How many refreshes a socket is remembered after it was last seen with an
   * owner, so that a flow that finishes after its process closed the socket
   * is still attributed to the process that held it. Default 30.
   */
  retainRefreshes?: number;
  /** Re-walk every process's fds at least every this many refreshes (fds move by fork/exit). Default 5. */
  fullScanEvery?: number;
  /** Injected table reader (tests). */
  readSockets?: () => KernelTcpSocket[];
}

interface Remembered {
  holders: SocketHolder[];
  inode: number;
  lastSeen: number;
}

/**
 * Who holds the socket of each locally terminated flow endpoint, the way
 * `ss -tp` finds it: local addr:port ↔ remote addr:port → socket inode via
 * /proc/net/tcp{,6}, inode → pid via /proc/<pid>/fd, command from
 * /proc/<pid>/comm. Refreshed only when `refresh()` is called (flush time);
 * lookups between refreshes are map reads.
 */
export class SocketOwnerResolver {
  private readonly readSockets: () => KernelTcpSocket[];
  private readonly procRoot: string;
  private readonly retain: number;
  private readonly fullScanEvery: number;
  /** `${local}|${lport}|${remote}|${rport}` → holders. */
  private readonly byTuple = new Map<string, Remembered>();
  /** inode → holders found by the last walk. */
  private inodeHolders = new Map<number, SocketHolder[]>();
  private generation = 0;
  private lastFullScan = -Infinity;
  /** Sockets in the tables at the last refresh (with an inode, not listening). */
  connectedSockets = 0;
  /** Number of /proc fd walks done so far. */
  scans = 0;

  constructor(opts: SocketOwnerResolverOptions = {}) {
    const netDir = opts.netDir ?? '/proc/net';
    this.readSockets = opts.readSockets ?? (() => readKernelTcpSockets(netDir, { heldOnly: true }));
    this.procRoot = opts.procRoot ?? '/proc';
    this.retain = opts.retainRefreshes ?? 30;
    this.fullScanEvery = opts.fullScanEvery ?? 5;
  }

  /** Re-read the TCP tables and resolve the inodes that are new since the last walk. */
  refresh(): void {
    const gen = ++this.generation;
    const sockets = this.readSockets();
    const live: KernelTcpSocket[] = [];
    let unknown = false;
    for (const s of sockets) {
      if (s.inode === 0 || s.state === TCP_LISTEN) continue;
      live.push(s);
      if (!this.inodeHolders.has(s.inode)) unknown = true;
    }
    this.connectedSockets = live.length;
    if (unknown || gen - this.lastFullScan >= this.fullScanEvery) {
      const wanted = new Set<number>();
      for (const s of live) wanted.add(s.inode);
      this.inodeHolders = findSocketHolders(wanted, this.procRoot);
      // Inodes nobody holds stay unknown; remember that they were looked for.
      for (const inode of wanted) if (!this.inodeHolders.has(inode)) this.inodeHolders.set(inode, []);
      this.lastFullScan = gen;
      this.scans++;
    }
    for (const s of live) {
      const holders = this.inodeHolders.get(s.inode);
      if (!holders || holders.length === 0) continue;
      const key = `${s.localAddr}|${s.localPort}|${s.remoteAddr}|${s.remotePort}`;
      const prev = this.byTuple.get(key);
      if (prev) {
        prev.holders = holders;
        prev.inode = s.inode;
        prev.lastSeen = gen;
      } else {
        this.byTuple.set(key, { holders, inode: s.inode, lastSeen: gen });
      }
    }
    for (const [key, r] of this.byTuple) if (gen - r.lastSeen > this.retain) this.byTuple.delete(key);
  }

  /** Owners of either end of a flow, from what the last refreshes saw; empty when neither end is local. */
  ownersOf(flow: Pick<FlowRecord, 'origH' | 'origP' | 'respH' | 'respP'>): SocketOwner[] {
    const out: SocketOwner[] = [];
    const o = this.byTuple.get(`${flow.origH}|${flow.origP}|${flow.respH}|${flow.respP}`);
    if (o) for (const h of o.holders) out.push({ endpoint: 'orig', pid: h.pid, command: h.command });
    const r = this.byTuple.get(`${flow.respH}|${flow.respP}|${flow.origH}|${flow.origP}`);
    if (r) for (const h of r.holders) out.push({ endpoint: 'resp', pid: h.pid, command: h.command });
    return out;
  }

  /** Set `owners` on every flow with a known local owner; returns how many got one. */
  attach(flows: FlowRecord[]): number {
    let n = 0;
    for (const f of flows) {
      const owners = this.ownersOf(f);
      if (owners.length > 0) {
        f.owners = owners;
        n++;
      }
    }
    return n;
  }
}
