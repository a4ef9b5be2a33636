import { spawn, type ChildProcess } from 'node:child_process';
import { FlowStore } from '../store/flow-store';

/**
 * What a running live capture reports to its supervisor after every flush,
 * so that the capture row can still be closed if the capturing process dies.
 */
export interface LiveProgress {
  captureId: number;
  dbPath: string;
  device: string;
  startedTsUs: number;
  firstTsUs: number | null;
  /** Time of the last flush: flows are in the database up to here. */
  flushedTsUs: number;
  packets: number;
  tcpPackets: number;
  bytes: number;
  flowsWritten: number;
  anomalies: Record<string, number>;
}

export interface SupervisedResult {
  /** Exit code of the capturing process (null when a signal ended it). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last progress report, null when the capture never started. */
  progress: LiveProgress | null;
  /** One line describing why the capture row was closed as damaged (or had to be), or null. */
  damage: string | null;
  /** True when the supervisor closed the capture row (as damaged). */
  rowClosed: boolean;
}

/**
 * Signals passed on to the capturing child, which stops cleanly on each;
 * SIGHUP (terminal closed, ssh session dropped) is a stop like SIGTERM.
 */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Key of the message the capturing child sends once its stop-signal handlers are installed. */
export const STOP_SIGNALS_READY = 'stopSignalsReady';

/** The environment variable that marks the capturing child process. */
export const LIVE_CHILD_ENV = 'WIRESTATE_LIVE_CHILD';

/**
 * Run the live capture in a child process and watch it. cap 0.2.1 aborts the
 * whole process (a failed assertion in its poll callback) when libpcap's
 * descriptor reports an error, e.g. the interface went down or was removed;
 * the supervisor then closes the capture row as damaged, keeping every flow
 * written up to the last flush. Signals are forwarded to the child, which
 * stops cleanly on SIGINT/SIGTERM/SIGHUP.
 */
export function runSupervised(script: string, args: string[], execArgv: string[] = []): Promise<SupervisedResult> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess | null = null;
    let progress: LiveProgress | null = null;
    // Until the child says its stop handlers are in (it is still loading), a stop signal is held
    // back and passed on then, so that it stops the capture cleanly instead of killing the child.
    let ready = false;
    let held: NodeJS.Signals | null = null;
    const send = (sig: NodeJS.Signals) => {
      if (child !== null && child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    const forward = (sig: NodeJS.Signals) => {
      // A second signal before the child is ready is passed on at once: the user insists.
      if (!ready && held === null) held = sig;
      else send(sig);
    };
    const unforward = () => {
      for (const sig of FORWARDED_SIGNALS) process.off(sig, forward);
    };
    // Before the child exists: a signal during spawn must not end this process and orphan it.
    for (const sig of FORWARDED_SIGNALS) process.on(sig, forward);
    try {
      child = spawn(process.execPath, [...execArgv, script, ...args], {
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, [LIVE_CHILD_ENV]: '1' },
      });
    } catch (err) {
      unforward();
      reject(err);
      return;
    }
    child.on('message', (m: unknown) => {
      if (!m || typeof m !== 'object') return;
      if ('captureId' in m) progress = m as LiveProgress;
      if ('captureId' in m || STOP_SIGNALS_READY in m) {
        ready = true;
        if (held !== null) send(held);
        held = null;
      }
    });
    child.on('error', (err) => {
      unforward();
      reject(err);
    });
    child.on('exit', (code, signal) => {
      unforward();
      let damage: string | null = null;
      let rowClosed = false;
      // Any end but a clean exit 0 with the capture still open: close its row as damaged.
      const abnormal = signal !== null || code !== 0;
      if (abnormal && progress) {
        const how = signal ?? `exit code ${code}`;
        let text =
          `live capture on ${progress.device} ended abnormally (${how})` +
          (signal === 'SIGABRT' || code === 134 ? ': libpcap reported an error on the device (interface down or removed?)' : '');
        try {
          // false: the child closed the row itself (e.g. a failure it reported), nothing to add.
          rowClosed = closeAbortedCapture(progress, text);
          if (rowClosed) damage = text;
        } catch (err) {
          text += `; closing the capture row failed too: ${(err as Error).message}`;
          damage = text;
        }
      }
      resolve({ code, signal, progress, damage, rowClosed });
    });
  });
}

/**
 * Close the capture row of a capture whose process died, from its last
 * progress report. False when the row was closed already (never overwritten).
 */
export function closeAbortedCapture(p: LiveProgress, damage: string): boolean {
  const store = FlowStore.open(p.dbPath);
  try {
    return store.endCapture(p.captureId, {
      firstTsUs: p.firstTsUs ?? p.startedTsUs,
      lastTsUs: p.flushedTsUs,
      packets: p.packets,
      tcpPackets: p.tcpPackets,
      bytes: p.bytes,
      anomalies: p.anomalies,
      truncated: true,
      damage,
      drops: null,
    });
  } finally {
    store.close();
  }
}
