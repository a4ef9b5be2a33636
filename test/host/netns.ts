/**
 * Test helpers: network namespaces (prefix `wse-`, addresses in 10.79.0.0/16)
 * and real Python servers/clients inside them. Everything created here is
 * removed by `cleanup()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/** Why tests that need network namespaces cannot run here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'needs root to create network namespaces (ip netns); CI runs as root';
  }
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.error) return 'needs iproute2 (`ip`) to create network namespaces';
  const py = spawnSync('python3', ['-c', 'pass']);
  if (py.error || py.status !== 0) return 'needs python3 for the real server and client';
  if (netnsProbe === undefined) {
    // Root is not always enough (e.g. a container without CAP_SYS_ADMIN): try once.
    const name = `wse-e-probe${process.pid % 100000}`;
    const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
    netnsProbe = add.status === 0 ? null : `cannot create network namespaces here (ip netns add: ${add.stderr.trim()})`;
    if (add.status === 0) spawnSync('ip', ['netns', 'del', name]);
  }
  return netnsProbe;
}

let netnsProbe: string | null | undefined;

/** Why live capture tests cannot run here (no root/netns, or cap not built), or null. */
export function liveUnavailable(): string | null {
  const why = netnsUnavailable();
  if (why) return why;
  try {
    require('cap');
  } catch (err) {
    return `needs the optional 'cap' addon built against libpcap-dev (${(err as Error).message.split('\n')[0]})`;
  }
  const ss = spawnSync('ss', ['-V']);
  if (ss.error) return 'needs ss (iproute2) for ground truth';
  return null;
}

export function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A namespace name unique to this process and call. */
let seq = 0;
export function uniqueTag(): string {
  return `${process.pid % 100000}${seq++}`;
}

export class Netns {
  readonly name: string;
  private readonly children: ChildProcess[] = [];
  constructor(name: string) {
    if (!name.startsWith('wse-')) throw new Error('namespaces of these tests start with wse-');
    this.name = name;
    sh('ip', ['netns', 'add', name]);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  }

  exec(cmd: string, args: string[]): string {
    return sh('ip', ['netns', 'exec', this.name, cmd, ...args]);
  }

  /**
   * Start a long-running process inside the namespace; killed by cleanup().
   * `ip netns exec` execs the command in place, so the child's pid is the
   * command's. `detached` starts it in a session of its own (setsid): its
   * pid is then also its process group id.
   */
  spawn(cmd: string, args: string[], opts: { stdio?: 'pipe' | 'ignore'; detached?: boolean } = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: opts.stdio ?? 'pipe', detached: opts.detached === true });
    this.children.push(child);
    return child;
  }

  /** TCP socket states (ss spelling) on `port`, listeners left out. */
  ss(port: number): string[] {
    return this.exec('ss', ['-tanH'])
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 5 && f[0] !== 'LISTEN' && (f[3].endsWith(`:${port}`) || f[4].endsWith(`:${port}`)))
      .map((f) => f[0]);
  }

  cleanup(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        try {
          c.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // Processes still inside (started by children) would keep it busy: kill them by pid, then delete.
    const pids = spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' }).stdout ?? '';
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone
      }
    }
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

/** Two namespaces joined by a veth pair: `server` has 10.79.<net>.1, `client` 10.79.<net>.2. */
export class VethPair {
  readonly server: Netns;
  readonly client: Netns;
  readonly serverIp: string;
  readonly clientIp: string;
  readonly serverIf = 'wse-s';
  constructor(tag: string, net: number) {
    this.server = new Netns(`wse-e-${tag}-s`);
    try {
      this.client = new Netns(`wse-e-${tag}-c`);
    } catch (err) {
      this.server.cleanup();
      throw err;
    }
    this.serverIp = `10.79.${net}.1`;
    this.clientIp = `10.79.${net}.2`;
    sh('ip', ['link', 'add', 'name', this.serverIf, 'netns', this.server.name, 'type', 'veth', 'peer', 'name', 'wse-c', 'netns', this.client.name]);
    sh('ip', ['-n', this.server.name, 'addr', 'add', `${this.serverIp}/24`, 'dev', this.serverIf]);
    sh('ip', ['-n', this.client.name, 'addr', 'add', `${this.clientIp}/24`, 'dev', 'wse-c']);
    sh('ip', ['-n', this.server.name, 'link', 'set', this.serverIf, 'up']);
    sh('ip', ['-n', this.client.name, 'link', 'set', 'wse-c', 'up']);
  }
  cleanup(): void {
    this.client.cleanup();
    this.server.cleanup();
  }
}

/** Resolve when `child` printed a line matching `re` on stdout/stderr; reject on exit or timeout. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    let acc = '';
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${re}; got: ${acc.slice(-500)}`)), timeoutMs);
    const onData = (b: Buffer) => {
      acc += b.toString('utf8');
      const m = acc.split('\n').find((l) => re.test(l));
      if (m !== undefined) done(null, m);
    };
    const onExit = (code: number | null) => done(new Error(`exited (${code}) before ${re}; output: ${acc.slice(-500)}`));
    function done(err: Error | null, line?: string) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(line as string);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Wait for a child to exit; resolves with its code and all it printed. */
export function waitForExit(child: ChildProcess, timeoutMs = 30000): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => reject(new Error(`did not exit within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // let the pipes drain
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

/**
 * A TCP server that answers one line per connection and then, for requests
 * starting with "leak", never closes its socket after the peer's FIN (the
 * CLOSE_WAIT leak); for anything else it closes after the peer's FIN.
 * Prints "listening PID" when ready.
 */
export const LEAKY_SERVER_PY = `
import os, socket, sys, threading, time
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(64)
kept = []
def handle(c):
    data = b''
    while not data.endswith(b'\\n'):
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    c.sendall(b'ok ' + data)
    while c.recv(4096):
        pass
    if data.startswith(b'leak'):
        kept.append(c)  # never closed: CLOSE_WAIT until this process exits
    else:
        c.close()
print('listening', os.getpid(), flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
`;

/**
 * A client that makes one connection per argument word ("leak" or "close"),
 * sends the word, reads the answer and closes first. Prints "done" and the
 * local ports used, one "port WORD N" line each.
 */
export const CLIENT_PY = `
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
for word in sys.argv[3:]:
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.connect((host, port))
    print('port', word, s.getsockname()[1], flush=True)
    s.sendall(word.encode() + b'\\n')
    buf = b''
    while not buf.endswith(b'\\n'):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    s.close()
print('done', flush=True)
`;

export function writeTemp(dir: string, name: string, text: string): string {
  const p = `${dir}/${name}`;
  fs.writeFileSync(p, text);
  return p;
}

/**
 * Poll `ss -tanH` in a namespace until every TCP socket on `port` is in one of
 * the `settled` states (ss spelling, e.g. CLOSE-WAIT) and at least `min`
 * such sockets exist: the kernel has sent and received everything it will.
 */
export async function waitForSettled(ns: Netns, port: number, settled: string[], min: number, timeoutMs = 10000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let states: string[] = [];
  for (;;) {
    states = ns.ss(port);
    if (states.length >= min && states.every((s) => settled.includes(s))) return states;
    if (Date.now() > deadline) throw new Error(`sockets on port ${port} did not settle: ${states.join(' ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
