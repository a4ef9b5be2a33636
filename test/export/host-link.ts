/**
 * One "capture host" of the fleet tests: a network namespace with a real
 * leaking server, joined by a veth pair to the root namespace, where the
 * capture runs (on the root end) and can reach the test's ClickHouse on
 * 127.0.0.1. The client runs in the root namespace too.
 */
import fs from 'node:fs';
import { sh, Netns, uniqueTag, waitForLine, LEAKY_SERVER_PY, CLIENT_PY } from '../host/netns';

/** Claims of root-namespace /24s (10.79.N.0/24, N in 2..97), shared by every test process on the machine. */
const CLAIMS = '/tmp/wse-root-nets';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A 10.79.N.0/24 no other test process uses in the root namespace: claimed
 * atomically by creating CLAIMS/N (mkdir), holding the owner's pid; a claim
 * whose owner is gone is taken over. Addresses in the root namespace are
 * shared by parallel test runs, so a pid-derived number alone can collide.
 */
export function claimNet(): number {
  fs.mkdirSync(CLAIMS, { recursive: true });
  const start = 2 + (process.pid % 96);
  for (let i = 0; i < 96; i++) {
    const n = 2 + ((start - 2 + i) % 96);
    const dir = `${CLAIMS}/${n}`;
    try {
      fs.mkdirSync(dir);
    } catch {
      let owner = 0;
      try {
        owner = Number(fs.readFileSync(`${dir}/pid`, 'utf8'));
      } catch {
        continue; // being claimed right now
      }
      if (owner > 0 && alive(owner)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      try {
        fs.mkdirSync(dir);
      } catch {
        continue;
      }
    }
    fs.writeFileSync(`${dir}/pid`, String(process.pid));
    return n;
  }
  throw new Error('no free 10.79.N.0/24 for a root-namespace test link');
}

function releaseNet(n: number): void {
  fs.rmSync(`${CLAIMS}/${n}`, { recursive: true, force: true });
}

export class HostLink {
  readonly ns: Netns;
  readonly ifname: string;
  readonly serverIp: string;
  readonly localIp: string;
  readonly port = 8080;

  private readonly net: number;

  constructor() {
    const net = claimNet();
    this.net = net;
    const tag = uniqueTag();
    this.ns = new Netns(`wse-x-${tag}`);
    this.ifname = `wse-h${tag}`.slice(0, 15);
    this.serverIp = `10.79.${net}.1`;
    this.localIp = `10.79.${net}.2`;
    try {
      sh('ip', ['link', 'add', 'name', this.ifname, 'type', 'veth', 'peer', 'name', 'wse-s', 'netns', this.ns.name]);
      sh('ip', ['addr', 'add', `${this.localIp}/24`, 'dev', this.ifname]);
      sh('ip', ['link', 'set', this.ifname, 'up']);
      sh('ip', ['-n', this.ns.name, 'addr', 'add', `${this.serverIp}/24`, 'dev', 'wse-s']);
      sh('ip', ['-n', this.ns.name, 'link', 'set', 'wse-s', 'up']);
    } catch (err) {
      this.cleanup();
      throw err;
    }
  }

  async startServer(): Promise<void> {
    const srv = this.ns.spawn('python3', ['-c', LEAKY_SERVER_PY, this.serverIp, String(this.port)]);
    await waitForLine(srv, /^listening \d+/);
  }

  /** Run the client from the root namespace: one connection per word ("leak" / "close"). */
  connect(words: string[]): void {
    const out = sh('python3', ['-c', CLIENT_PY, this.serverIp, String(this.port), ...words]);
    if (!/^done$/m.test(out)) throw new Error(`client: ${out}`);
  }

  cleanup(): void {
    this.ns.cleanup();
    try {
      sh('ip', ['link', 'del', this.ifname]);
    } catch {
      // gone with the namespace
    }
    releaseNet(this.net);
  }
}
