import type { Database } from 'better-sqlite3';
import { hostPort } from '../host-port';
import type { Finding } from '../model';
import { evidence } from '../sample-flow';
import { groupBy } from '../stats';
import { plural } from '../wording';
import type { FindingModule } from './finding-module';
import { dirRows } from './flow-rows';

function zeroWindows(db: Database, capId: number): Finding[] {
  const rows = dirRows(db, capId, 'orig_zero_windows > 0 OR resp_zero_windows > 0');
  const out: Finding[] = [];
  for (const side of ['orig', 'resp'] as const) {
    const mine = rows.filter((r) => (side === 'orig' ? r.orig_zero_windows : r.resp_zero_windows) > 0);
    for (const g of groupBy(mine, (r) => `${r.resp_h}|${r.resp_p}`).values()) {
      const f = g[0];
      const svc = hostPort(f.resp_h, f.resp_p);
      const hosts = new Set(g.map((r) => r.orig_h));
      const n = g.reduce((a, r) => a + (side === 'orig' ? r.orig_zero_windows : r.resp_zero_windows), 0);
      const reader = side === 'resp' ? `server ${svc}` : hosts.size === 1 ? `client ${f.orig_h} (of ${svc})` : `${hosts.size} clients of ${svc}`;
      out.push({
        kind: 'zero_window',
        severity: 'warning',
        title: `${reader} stopped reading: zero window on ${plural(g.length, 'connection')} (${plural(n, 'advertisement')})`,
        details: [`Its receive buffer filled up; the peer had to stop sending and probe the window.`],
        implication:
          `The application on the ${side === 'orig' ? 'client' : 'server'} side does not read from these sockets fast enough, or at all: ` +
          `a blocked or overloaded consumer (stuck worker thread, full downstream queue, missing read loop). Look at what that process is doing ` +
          `(thread dump, strace on the socket); the sender's writes block or buffer meanwhile.`,
        facts: { reader: side === 'orig' ? 'client' : 'server', service: svc, connections: g.length, advertisements: n },
        evidence: evidence(db, g.map((r) => r.id), null),
      });
    }
  }
  return out;
}

/** Receivers that advertised a zero window: their application stopped reading. */
export const zeroWindow: FindingModule = { kind: 'zero_window', build: (c) => zeroWindows(c.db, c.captureId) };
