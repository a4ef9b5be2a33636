import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ipv4Text, ipv6Text, isV4Mapped } from './ip-text';

/** Kernel TCP socket states as numbered in include/net/tcp_states.h. */
export const KERNEL_TCP_STATES: Record<number, string> = {
  1: 'ESTABLISHED',
  2: 'SYN_SENT',
  3: 'SYN_RECV',
  4: 'FIN_WAIT1',
  5: 'FIN_WAIT2',
  6: 'TIME_WAIT',
  7: 'CLOSE',
  8: 'CLOSE_WAIT',
  9: 'LAST_ACK',
  10: 'LISTEN',
  11: 'CLOSING',
  12: 'NEW_SYN_RECV',
};

/** One row of /proc/net/tcp or /proc/net/tcp6. */
export interface KernelTcpSocket {
  /** 4 or 6 as the address is seen on the wire (IPv4-mapped IPv6 sockets are 4). */
  ipVersion: 4 | 6;
  /** Which table the row came from. */
  table: 'tcp' | 'tcp6';
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  /** Kernel state number (see KERNEL_TCP_STATES). */
  state: number;
  /** Socket inode; 0 when no file holds the socket (TIME_WAIT, orphans, request socks). */
  inode: number;
  uid: number;
}

const littleEndian = os.endianness() === 'LE';
const TCP_LISTEN = 10;

export interface ReadSocketsOptions {
  /** Skip rows no file holds (inode 0: TIME_WAIT, orphans) and listening sockets: what owner lookup needs. */
  heldOnly?: boolean;
}

/** One 32-bit word as printed by the kernel (%08X of the in-memory word) → network-order value. */
function wordToNetwork(hex: string, le: boolean): number {
  const v = parseInt(hex, 16) >>> 0;
  if (!le) return v;
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/**
 * Parse the text of /proc/net/tcp or /proc/net/tcp6. `le` says whether the
 * kernel that printed it is little-endian (addresses are printed as host-order
 * 32-bit words); default: this machine's byte order. Malformed lines are skipped.
 */
export function parseProcNetTcp(
  text: string,
  table: 'tcp' | 'tcp6',
  le = littleEndian,
  opts: ReadSocketsOptions = {},
): KernelTcpSocket[] {
  const out: KernelTcpSocket[] = [];
  const lines = text.split('\n');
  const groups = new Uint16Array(8);
  const heldOnly = opts.heldOnly === true;
  // Offset of the state field from the colon after the slot number ("%4d: %08X:%04X %08X:%04X %02X").
  const stateOff = table === 'tcp' ? 30 : 78;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (heldOnly) {
      // Cheap pre-check before splitting: TIME_WAIT, LISTEN and NEW_SYN_RECV rows never have an
      // owner, and a busy server has thousands of TIME_WAIT rows.
      const c = line.indexOf(':');
      const at = c + stateOff;
      if (c > 0 && line.charCodeAt(at + 2) === 32 && line.charCodeAt(at - 1) === 32) {
        const st = parseInt(line.slice(at, at + 2), 16);
        if (st === 6 || st === TCP_LISTEN || st === 12) continue;
      }
    }
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const state = parseInt(f[3], 16);
    const uid = parseInt(f[7], 10);
    const inode = parseInt(f[9], 10);
    if (!Number.isFinite(state) || !Number.isFinite(inode)) continue;
    if (heldOnly && (inode === 0 || state === TCP_LISTEN)) continue;
    const local = parseEndpoint(f[1], le, groups);
    const remote = parseEndpoint(f[2], le, groups);
    if (!local || !remote) continue;
    out.push({
      ipVersion: local.v4 ? 4 : 6,
      table,
      localAddr: local.addr,
      localPort: local.port,
      remoteAddr: remote.addr,
      remotePort: remote.port,
      state,
      inode,
      uid,
    });
  }
  return out;
}

function parseEndpoint(
  s: string,
  le: boolean,
  groups: Uint16Array,
): { addr: string; port: number; v4: boolean } | null {
  const colon = s.indexOf(':');
  if (colon < 0) return null;
  const hex = s.slice(0, colon);
  const port = parseInt(s.slice(colon + 1), 16);
  if (!Number.isFinite(port)) return null;
  if (hex.length === 8) return { addr: ipv4Text(wordToNetwork(hex, le)), port, v4: true };
  if (hex.length !== 32) return null;
  for (let w = 0; w < 4; w++) {
    const v = wordToNetwork(hex.slice(w * 8, w * 8 + 8), le);
    groups[w * 2] = v >>> 16;
    groups[w * 2 + 1] = v & 0xffff;
  }
  if (isV4Mapped(groups)) {
    return { addr: ipv4Text(((groups[6] << 16) | groups[7]) >>> 0), port, v4: true };
  }
  return { addr: ipv6Text(groups), port, v4: false };
}

/**
 * Read both TCP tables of a network namespace. `netDir` is `/proc/net` for the
 * namespace this process runs in, or `/proc/<pid>/net` for another process's.
 * A missing table (e.g. IPv6 disabled) reads as empty.
 */
export function readKernelTcpSockets(netDir = '/proc/net', opts: ReadSocketsOptions = {}): KernelTcpSocket[] {
  const out: KernelTcpSocket[] = [];
  for (const table of ['tcp', 'tcp6'] as const) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(netDir, table), 'latin1');
    } catch {
      continue;
    }
    for (const s of parseProcNetTcp(text, table, littleEndian, opts)) out.push(s);
  }
  return out;
}
