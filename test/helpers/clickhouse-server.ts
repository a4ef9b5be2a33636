/**
 * A real clickhouse-server (Debian 12 ships 18.16.1) for the export tests:
 * its own config.xml/users.xml, data directory and free loopback ports
 * (HTTP, native TCP, interserver), started once per test file. `kill()`
 * and `start()` again on the same data directory act out a crash and a
 * restart. Everything is removed by `stop()`; a process exit kills it too.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cliPath } from './paths';

const SERVER_BIN = ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server'];

function serverBinary(): string | null {
  for (const b of SERVER_BIN) if (fs.existsSync(b)) return b;
  const which = spawnSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : null;
}

/** Why a real ClickHouse cannot run here, or null. */
export function clickhouseUnavailable(): string | null {
  return serverBinary() === null ? 'needs clickhouse-server (apt-get install clickhouse-server; .ci/run does)' : null;
}

/** A TCP port nobody listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

/** The user with a password the tests use for authentication errors. */
export const TEST_USER = { name: 'wirestate', password: 'ws-test-secret' };

export class ClickHouseServer {
  readonly dir: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  private child: ChildProcess | null = null;
  private readonly bin: string;
  private readonly exitHook = () => this.child?.kill('SIGKILL');

  private constructor(dir: string, ports: number[], bin: string) {
    this.dir = dir;
    this.httpPort = ports[0];
    this.tcpPort = ports[1];
    this.bin = bin;
    const interserver = ports[2];
    for (const d of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'config.xml'),
      `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${this.httpPort}</http_port>
  <tcp_port>${this.tcpPort}</tcp_port>
  <interserver_http_port>${interserver}</interserver_http_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <timezone>UTC</timezone>
</yandex>
`,
    );
    fs.writeFileSync(
      path.join(dir, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <${TEST_USER.name}><password>${TEST_USER.password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></${TEST_USER.name}>
  </users>
  <quotas><default></default></quotas>
</yandex>
`,
    );
  }

  /** Configure a fresh server in a temporary directory and start it; resolves once /ping answers. */
  static async create(): Promise<ClickHouseServer> {
    const bin = serverBinary();
    if (bin === null) throw new Error('clickhouse-server not installed');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wse-ch-'));
    const ports = [await freePort(), await freePort(), await freePort()];
    const s = new ClickHouseServer(dir, ports, bin);
    try {
      await s.start();
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** clickhouse://127.0.0.1:PORT/DB */
  url(db: string): string {
    return `clickhouse://127.0.0.1:${this.httpPort}/${db}`;
  }

  async ping(): Promise<boolean> {
    try {
      const r = await this.request('GET', '/ping', '', 1000);
      return r.status === 200 && r.body.trim() === 'Ok.';
    } catch {
      return false;
    }
  }

  /**
   * One HTTP request on a connection of its own (no keep-alive: a pooled
   * socket the server has just closed as idle would fail the next query).
   */
  private request(method: string, pathname: string, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.httpPort, method, path: pathname, agent: false, timeout: timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`ClickHouse: no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Start the server process (again, on the same data) and wait until it answers, 30 s at most. */
  async start(): Promise<void> {
    if (this.child) throw new Error('already running');
    let out = '';
    const child = spawn(this.bin, [`--config-file=${this.dir}/config.xml`], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    this.child = child;
    process.once('exit', this.exitHook);
    const deadline = Date.now() + 30000;
    while (!(await this.ping())) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.child = null;
        throw new Error(`clickhouse-server exited (${child.exitCode ?? child.signalCode}): ${out.trim().slice(-500)} ${this.errorLog()}`);
      }
      if (Date.now() > deadline) throw new Error(`clickhouse-server did not answer /ping within 30 s: ${out.trim().slice(-500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private errorLog(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'log', 'error.log'), 'utf8').slice(-500);
    } catch {
      return '';
    }
  }

  private async signal(sig: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    process.off('exit', this.exitHook);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await gone;
    clearTimeout(timer);
  }

  /** A crash: SIGKILL, no shutdown. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL', 0);
  }

  /** Shut down and remove the data directory. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM', 10000);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Run one statement over HTTP (POST body), return the body text; throws on a server error. */
  async sql(query: string): Promise<string> {
    const r = await this.request('POST', '/', query, 60000);
    if (r.status !== 200) throw new Error(`ClickHouse: ${r.body.trim()}`);
    return r.body;
  }

  /** SELECT … FORMAT JSONEachRow as objects. */
  async rows<T = Record<string, unknown>>(query: string): Promise<T[]> {
    const text = await this.sql(`${query} FORMAT JSONEachRow`);
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as T);
  }
}

/**
 * One server and one temp folder for a whole test file: started before its
 * tests (and, with `initDb`, `wirestate clickhouse init --create-database`
 * run on that database), stopped and removed after them. Nothing happens
 * when `why` says the tests skip. `use` receives both once they exist.
 */
export function clickhouseForFile(
  why: string | null,
  tmpPrefix: string,
  use: (ch: ClickHouseServer, dir: string) => void,
  initDb?: string,
): void {
  let ch: ClickHouseServer | null = null;
  let dir: string | null = null;
  before(async () => {
    if (why) return;
    ch = await ClickHouseServer.create();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    use(ch, dir);
    if (initDb !== undefined) {
      const r = spawnSync(process.execPath, [cliPath, 'clickhouse', 'init', ch.url(initDb), '--create-database'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    if (why) return;
    if (ch) await ch.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
}
