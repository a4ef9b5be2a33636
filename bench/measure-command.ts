import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One timed run of a command. */
export interface RunResult {
  wallS: number;
  /** Peak resident set size of the command (KiB), or NaN when it could not be measured. */
  peakRssKb: number;
  /** User + system CPU seconds of the command (GNU time only, else NaN): steadier than wall time on a busy machine. */
  cpuS: number;
  exitCode: number;
  /** First line of stderr when the command failed. */
  error?: string;
}

const GNU_TIME = '/usr/bin/time';

/** True when GNU time (Debian package `time`) is installed: it reports the child's peak RSS exactly. */
export function hasGnuTime(): boolean {
  try {
    fs.accessSync(GNU_TIME, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether `cmd` is an executable on PATH. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function readVmHwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Runs `cmd args` with stdout discarded (as `> /dev/null`), measuring wall
 * time around the whole process and its peak RSS: through GNU time's `%M`
 * when installed, otherwise by polling /proc/PID/status VmHWM every 5 ms (a
 * slight underestimate for processes that peak in their last milliseconds).
 */
export function measureCommand(cmd: string, args: string[], cwd: string): Promise<RunResult> {
  const useTime = hasGnuTime();
  const timeOut = path.join(os.tmpdir(), `wirestate-bench-time-${process.pid}.txt`);
  const argv = useTime ? ['-f', '%M %U %S', '-o', timeOut, '--', cmd, ...args] : args;
  const devNull = fs.openSync('/dev/null', 'w');
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(useTime ? GNU_TIME : cmd, argv, { cwd, stdio: ['ignore', devNull, 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    let polled = NaN;
    const timer = useTime
      ? undefined
      : setInterval(() => {
          const v = readVmHwmKb(child.pid ?? -1);
          if (!Number.isNaN(v)) polled = Number.isNaN(polled) ? v : Math.max(polled, v);
        }, 5);
    let done = false;
    const finish = (code: number, spawnError?: string): void => {
      if (done) return;
      done = true;
      const wallS = Number(process.hrtime.bigint() - start) / 1e9;
      if (timer) clearInterval(timer);
      fs.closeSync(devNull);
      let peakRssKb = polled;
      let cpuS = NaN;
      if (useTime) {
        try {
          const lines = fs.readFileSync(timeOut, 'utf8').trim().split('\n');
          const [rss, user, sys] = lines[lines.length - 1].split(' ').map(Number);
          peakRssKb = rss;
          cpuS = user + sys;
          fs.unlinkSync(timeOut);
        } catch {
          peakRssKb = NaN;
        }
      }
      const result: RunResult = { wallS, peakRssKb, cpuS, exitCode: code };
      if (code !== 0) {
        const lines = (spawnError ?? stderr)
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.length > 0 && !l.startsWith('Command exited with non-zero status'));
        result.error = lines.find((l) => /error/i.test(l)) ?? lines[0] ?? `exit code ${code}`;
      }
      resolve(result);
    };
    child.on('error', (e) => finish(127, e.message));
    child.on('close', (code, signal) => finish(code ?? (signal ? 128 : 1)));
  });
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
