import fs from 'node:fs';
import path from 'node:path';

/** A process that has a socket open. */
export interface SocketHolder {
  pid: number;
  /** /proc/<pid>/comm, as `ss -p` shows it. */
  command: string;
}

/**
 * Find which processes hold the given socket inodes by walking
 * /proc/<pid>/fd symlinks (`socket:[inode]`), as `ss -p` and `lsof -i` do.
 * Processes that vanish or cannot be read (not root) are skipped. Every
 * process is visited (a socket shared after fork has several holders), so
 * callers keep the number of calls low (flush time only, never per packet).
 */
export function findSocketHolders(inodes: ReadonlySet<number>, procRoot = '/proc'): Map<number, SocketHolder[]> {
  const found = new Map<number, SocketHolder[]>();
  if (inodes.size === 0) return found;
  let entries: string[];
  try {
    entries = fs.readdirSync(procRoot);
  } catch {
    return found;
  }
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const fdDir = path.join(procRoot, name, 'fd');
    let fds: string[];
    try {
      fds = fs.readdirSync(fdDir);
    } catch {
      continue;
    }
    let command: string | null = null;
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(path.join(fdDir, fd));
      } catch {
        continue;
      }
      if (!target.startsWith('socket:[')) continue;
      const inode = Number(target.slice(8, -1));
      if (!inodes.has(inode)) continue;
      if (command === null) command = readCommand(pid, procRoot);
      let list = found.get(inode);
      if (!list) found.set(inode, (list = []));
      if (!list.some((h) => h.pid === pid)) list.push({ pid, command });
    }
  }
  return found;
}

/** /proc/<pid>/comm without the newline; '?' when the process is gone. */
export function readCommand(pid: number, procRoot = '/proc'): string {
  try {
    return fs.readFileSync(path.join(procRoot, String(pid), 'comm'), 'utf8').replace(/\n$/, '');
  } catch {
    return '?';
  }
}
