/**
 * One "capture host" of the fleet tests: a network namespace with a real
 * leaking server, joined by a veth pair to the root namespace, where the
 * capture runs (on the root end) and can reach the test's ClickHouse on
 * 127.0.0.1. The client runs in the root namespace too.
 */
import { sh, Netns, uniqueTag, waitForLine, LEAKY_SERVER_PY, CLIENT_PY } from '../host/netns';

export class HostLink {
  readonly ns: Netns;
  readonly ifname: string;
  readonly serverIp: string;
  readonly localIp: string;
  readonly port = 8080;

  constructor(net: number) {
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
  }
}
