import { spawn, spawnSync } from 'node:child_process';
import readline from 'node:readline';

/** True when `cmd` can be started (`cmd --version`-style probe with the given args). */
export function toolAvailable(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
  return r.error === undefined;
}

export interface ToolOutput {
  code: number | null;
  stderr: string;
}

/**
 * Runs `cmd args`, handing every stdout line to `onLine` as it arrives
 * (streaming, so a large capture's output is never held in memory), and
 * resolves with the exit code and the collected stderr (first 4 KB).
 */
export function runLines(cmd: string, args: string[], onLine: (line: string) => void, env?: NodeJS.ProcessEnv): Promise<ToolOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    const rl = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
    rl.on('line', onLine);
    let exit: number | null | undefined;
    let closed = false;
    const done = (): void => {
      if (exit !== undefined && closed) resolve({ code: exit, stderr });
    };
    rl.on('close', () => {
      closed = true;
      done();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      exit = code;
      done();
    });
  });
}

/** RFC 5952 text of an IPv6 address written any valid way (tcptrace prints 'fd78::0001'); IPv4 unchanged. */
export function canonicalHost(h: string): string {
  if (!h.includes(':')) return h;
  const u = new URL(`http://[${h}]/`);
  return u.hostname.slice(1, -1);
}

/** Direction-independent key of a 4-tuple. */
export function tupleKey(aH: string, aP: number, bH: string, bP: number): string {
  const a = `${aH}|${aP}`;
  const b = `${bH}|${bP}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
