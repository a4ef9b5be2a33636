/**
 * A network namespace of the live stop/progress tests (prefix wse-l-,
 * loopback only, no addresses outside it): a Netns with a fresh name.
 * `cleanup()` kills everything inside and deletes it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { liveUnavailable, Netns, uniqueTag } from '../host/netns';

export class LoopbackNetns extends Netns {
  constructor() {
    super(`wse-l-${uniqueTag()}`);
  }
}

/**
 * Run a live test's body with a fresh LoopbackNetns and temporary directory,
 * both removed afterwards; skips the test, saying why, where live capture
 * cannot run (CI runs as root with libpcap, so there it runs).
 */
export async function withLoopbackNetns(t: TestContext, body: (ns: LoopbackNetns, dir: string) => Promise<void>): Promise<void> {
  const why = liveUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsl-live-'));
  const ns = new LoopbackNetns();
  try {
    await body(ns, dir);
  } finally {
    ns.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
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
