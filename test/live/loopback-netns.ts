/**
 * A network namespace of the live stop/progress tests (prefix wsl-, loopback
 * only, no addresses outside it). `cleanup()` kills everything inside and
 * deletes it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { sh, uniqueTag } from '../host/netns';

export class LoopbackNetns {
  readonly name = `wsl-${uniqueTag()}`;
  private readonly children: ChildProcess[] = [];
  constructor() {
    sh('ip', ['netns', 'add', this.name]);
    sh('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
  }

  /**
   * `ip netns exec` execs the command in place, so the child's pid is the
   * command's. `detached` starts it in a session of its own (setsid): its
   * pid is then also its process group id.
   */
  spawn(cmd: string, args: string[], opts: { detached?: boolean } = {}): ChildProcess {
    const c = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', detached: opts.detached === true });
    this.children.push(c);
    return c;
  }

  /** TCP socket states (ss spelling) on `port`, listeners left out. */
  ss(port: number): string[] {
    return sh('ip', ['netns', 'exec', this.name, 'ss', '-tanH'])
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 5 && f[0] !== 'LISTEN' && (f[3].endsWith(`:${port}`) || f[4].endsWith(`:${port}`)))
      .map((f) => f[0]);
  }

  cleanup(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const pids = spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' }).stdout ?? '';
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

export interface CaptureRow {
  id: number;
  completed: number;
  truncated: number;
  damage: string | null;
  last_ts: number | null;
  packets: number;
}

/** The capture rows of a database, or null while it (or its schema) does not exist yet. */
export function captureRows(db: string): CaptureRow[] | null {
  let d: Database.Database | null = null;
  try {
    d = new Database(db, { readonly: true, fileMustExist: true });
    return d.prepare('SELECT id, completed, truncated, damage, last_ts, packets FROM captures ORDER BY id').all() as CaptureRow[];
  } catch {
    return null;
  } finally {
    d?.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
