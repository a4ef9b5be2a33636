import type { PacketHandler, RawPacket } from './raw-packet';
import { PacketSocketStats, packetSocketInodes } from './packet-socket-stats';

/**
 * Live capture through libpcap, by way of the optional `cap` addon. `cap` is
 * loaded lazily here and only here, so the rest of wirestate works where it
 * is not installed or not built.
 *
 * What cap 0.2.1 gives and does not give, and what this file does about it:
 * - no per-packet timestamp: the packet is stamped with this process's clock
 *   when libpcap hands it over (immediate mode is on, so that is within
 *   microseconds of arrival unless the event loop was busy);
 * - no original length: `origlen` is the captured length, or, when the
 *   packet filled the snapshot length, the length its IP header claims;
 * - a fixed libpcap snaplen of 65535: a smaller `snaplen` truncates the copy;
 * - no pcap_stats: drop counts come from the installed cap's `stats()` if it
 *   has one, else from the kernel's counters of the packet socket libpcap
 *   opened (packet-socket-stats.ts), else they are unknown (null);
 * - immediate mode (TPACKET_V2): the kernel ring has one fixed-size slot per
 *   packet, as large as the snapshot length (65535) on an interface with
 *   segmentation or receive offload (veth, most NICs), whatever the packet
 *   size: the ring holds bufferSize / 64 KiB packets, 4,096 at the default
 *   256 MiB.
 */

export type LiveCaptureErrorCode =
  | 'cap_missing'
  | 'permission'
  | 'no_such_device'
  | 'no_default_device'
  | 'bad_filter'
  | 'open_failed';

/** A live capture could not start. The message is one line, meant for a user. */
export class LiveCaptureError extends Error {
  readonly code: LiveCaptureErrorCode;
  constructor(code: LiveCaptureErrorCode, message: string) {
    super(message);
    this.name = 'LiveCaptureError';
    this.code = code;
  }
}

export interface CapAddress {
  addr?: string;
  netmask?: string;
  broadaddr?: string;
  dstaddr?: string;
}

export interface CapDevice {
  name: string;
  description?: string;
  addresses: CapAddress[];
  /** cap reports only 'PCAP_IF_LOOPBACK'. */
  flags?: string;
}

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
  stats?: () => { ps_recv?: number; ps_drop?: number; ps_ifdrop?: number; recv?: number; drop?: number; ifdrop?: number };
}

export interface CapModule {
  Cap: { new (): CapHandle; deviceList(): CapDevice[] };
}

let capModule: CapModule | null = null;

/** Load the `cap` addon, or throw a LiveCaptureError('cap_missing') saying how to get it. */
export function loadCap(): CapModule {
  if (capModule) return capModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    capModule = require('cap') as CapModule;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new LiveCaptureError(
      'cap_missing',
      `live capture needs the optional 'cap' addon, which is not installed or not built (${why}); ` +
        `install libpcap-dev (apt-get install libpcap-dev) and run 'npm rebuild cap'`,
    );
  }
  return capModule;
}

/** libpcap's device list, as cap reports it. */
export function listCapDevices(): CapDevice[] {
  const cap = loadCap();
  try {
    return cap.Cap.deviceList();
  } catch (err) {
    throw classifyOpenError(err instanceof Error ? err.message : String(err), '');
  }
}

/** LINKTYPE_* number for the link type name cap.open() returns. */
export function linktypeFromCapName(name: string): number {
  switch (name) {
    case 'NULL':
      return 0;
    case 'ETHERNET':
      return 1;
    case 'RAW':
      return 101;
    case 'IEEE802_11_RADIO':
      return 127;
    case 'LINKTYPE_LINUX_SLL':
      return 113;
  }
  const m = /^Unknown linktype (\d+)$/.exec(name);
  if (!m) return -1;
  const dlt = Number(m[1]);
  // DLT_RAW is 12 (or 14 on some BSDs); its LINKTYPE is 101. Others are equal.
  return dlt === 12 || dlt === 14 ? 101 : dlt;
}

/** Turn a libpcap/cap error message into a classified one-line error. */
export function classifyOpenError(message: string, device: string): LiveCaptureError {
  const msg = message.split('\n')[0].trim();
  if (/not permitted|permission|CAP_NET_RAW|EPERM|EACCES/i.test(msg)) {
    return new LiveCaptureError(
      'permission',
      `no permission to capture on ${device || 'any device'} (${msg}): run as root or grant CAP_NET_RAW, ` +
        `e.g. sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which node))`,
    );
  }
  if (/no such device|doesn't exist|does not exist/i.test(msg)) {
    return new LiveCaptureError('no_such_device', `no such interface '${device}' (${msg})`);
  }
  return new LiveCaptureError('open_failed', `cannot capture on ${device}: ${msg}`);
}

export interface LiveCaptureOptions {
  device: string;
  /** BPF filter expression compiled by libpcap; '' captures everything. */
  filter: string;
  /** Bytes kept per packet (at most 65535, cap's libpcap snaplen). */
  snaplen: number;
  /**
   * Kernel capture ring size in bytes (default 256 MiB). cap's libpcap handle
   * has a 65535-byte snaplen, so each ring slot is ~64 KiB whatever the
   * packet size (on interfaces with offloads): 256 MiB holds ~4,000 packets
   * waiting while JavaScript is busy (40 ms at 100k packets/s).
   */
  bufferSize?: number;
}

export interface LiveCaptureStats {
  /** Packets libpcap received, or null when cap does not report statistics. */
  received: number | null;
  /** Packets dropped because the capture buffer was full, or null when unknown. */
  dropped: number | null;
  /** Packets dropped by the interface/driver, or null when unknown. */
  ifDropped: number | null;
}

/** Handles whose open() failed half-way: cap cannot close them safely, so they are kept from the GC. */
const failedHandles: CapHandle[] = [];

/** Default kernel ring size for live capture. */
export const DEFAULT_BUFFER_BYTES = 256 * 1024 * 1024;

/** The largest snapshot length cap's libpcap handle uses. */
export const CAP_MAX_SNAPLEN = 65535;

/**
 * A running live capture. Every packet is lent to the handler in one reused
 * RawPacket whose buffer is overwritten by the next packet.
 */
export class LiveCapture {
  readonly device: string;
  readonly filter: string;
  readonly snaplen: number;
  /** LINKTYPE_* of the device. */
  readonly linktype: number;
  packets = 0;
  /** Packets cut by the snapshot length. */
  truncated = 0;
  private readonly handle: CapHandle;
  /** The kernel's counters of libpcap's packet socket, where cap has no stats() and they can be read. */
  private socketStats: PacketSocketStats | null = null;
  private closed = false;
  private lastTsUs = 0;

  private constructor(handle: CapHandle, opts: LiveCaptureOptions, snaplen: number, linktype: number) {
    this.handle = handle;
    this.device = opts.device;
    this.filter = opts.filter;
    this.snaplen = snaplen;
    this.linktype = linktype;
  }

  /**
   * Open `opts.device` with `opts.filter` and start delivering packets to
   * `onPacket` from the event loop. Throws LiveCaptureError.
   */
  static open(opts: LiveCaptureOptions, onPacket: PacketHandler): LiveCapture {
    const cap = loadCap();
    const snaplen = Math.max(1, Math.min(Math.floor(opts.snaplen), CAP_MAX_SNAPLEN));
    const bufferSize = opts.bufferSize ?? DEFAULT_BUFFER_BYTES;
    const names = cap.Cap.deviceList().map((d) => d.name);
    if (!names.includes(opts.device)) {
      throw new LiveCaptureError(
        'no_such_device',
        `no such interface '${opts.device}'; interfaces: ${names.join(', ') || '(none)'}`,
      );
    }
    const buffer = Buffer.alloc(snaplen);
    const handle = new cap.Cap();
    let linkName: string;
    const socketsBefore = typeof handle.stats === 'function' ? null : packetSocketInodes();
    try {
      linkName = handle.open(opts.device, opts.filter, bufferSize, buffer);
    } catch (err) {
      failedHandles.push(handle);
      const msg = err instanceof Error ? err.message : String(err);
      const classified = classifyOpenError(msg, opts.device);
      if (classified.code === 'open_failed' && opts.filter !== '' && openWithoutFilterWorks(cap, opts.device, bufferSize)) {
        throw new LiveCaptureError('bad_filter', `invalid capture filter '${opts.filter}': ${msg.split('\n')[0]}`);
      }
      throw classified;
    }
    const linktype = linktypeFromCapName(linkName);
    if (linktype < 0) {
      handle.close();
      throw new LiveCaptureError('open_failed', `cannot capture on ${opts.device}: unsupported link type ${linkName}`);
    }
    const live = new LiveCapture(handle, opts, snaplen, linktype);
    live.socketStats = PacketSocketStats.find(socketsBefore);
    const raw: RawPacket = {
      buf: buffer,
      off: 0,
      caplen: 0,
      origlen: 0,
      tsUs: 0,
      linktype,
      interfaceId: 0,
      fileOffset: 0,
    };
    const timeOrigin = performance.timeOrigin;
    handle.on('packet', (nbytes: number, truncated: boolean) => {
      if (live.closed) return;
      let ts = Math.floor((timeOrigin + performance.now()) * 1000);
      if (ts < live.lastTsUs) ts = live.lastTsUs;
      live.lastTsUs = ts;
      raw.caplen = nbytes;
      raw.origlen = nbytes;
      if (truncated || nbytes >= snaplen) {
        const wire = wireLength(buffer, nbytes, linktype);
        if (wire > nbytes) raw.origlen = wire;
      }
      if (raw.origlen > raw.caplen) live.truncated++;
      raw.tsUs = ts;
      raw.fileOffset = live.packets;
      live.packets++;
      onPacket(raw);
    });
    return live;
  }

  /** Stop capturing (safe to call from the packet handler and more than once). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The socket's counters, last read before libpcap closes it.
    this.socketStats?.close();
    this.handle.close();
  }

  /**
   * Start reading the packet socket's counters in the background (a child
   * process), so that the next stats() is fresh; no-op where cap has its own
   * stats() or the socket's counters cannot be read.
   */
  refreshStats(): void {
    if (!this.closed) this.socketStats?.refresh();
  }

  /** Resolves when every background read of the counters is back (after close(): the final counts). */
  statsSettled(): Promise<void> {
    return this.socketStats?.settled() ?? Promise.resolve();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * libpcap's counters, where the installed cap exposes pcap_stats; else the
   * packet socket's, as of the last read (refreshStats(), close()); else unknown.
   */
  stats(): LiveCaptureStats {
    const none: LiveCaptureStats = { received: null, dropped: null, ifDropped: null };
    if (this.socketStats !== null) {
      const c = this.socketStats.counts();
      return c === null ? none : { received: c.received, dropped: c.dropped, ifDropped: null };
    }
    if (typeof this.handle.stats !== 'function' || this.closed) return none;
    try {
      const s = this.handle.stats();
      const pick = (a: unknown, b: unknown) => (typeof a === 'number' ? a : typeof b === 'number' ? b : null);
      return { received: pick(s.ps_recv, s.recv), dropped: pick(s.ps_drop, s.drop), ifDropped: pick(s.ps_ifdrop, s.ifdrop) };
    } catch {
      return none;
    }
  }

  /** Whether drop counts can be had (from the installed cap, or from the packet socket). */
  get hasStats(): boolean {
    return typeof this.handle.stats === 'function' || this.socketStats?.counts() != null;
  }
}

function openWithoutFilterWorks(cap: CapModule, device: string, bufferSize: number): boolean {
  const probe = new cap.Cap();
  try {
    probe.open(device, '', Math.min(bufferSize, 65536), Buffer.alloc(64));
  } catch {
    failedHandles.push(probe);
    return false;
  }
  probe.close();
  return true;
}

/**
 * Length of a packet on the wire as its IP header tells it, for packets that
 * were cut by the snapshot length; the captured length when it cannot tell.
 */
export function wireLength(buf: Buffer, caplen: number, linktype: number): number {
  let off: number;
  let ethertype = -1;
  switch (linktype) {
    case 1: {
      off = 14;
      if (caplen < 14) return caplen;
      ethertype = buf.readUInt16BE(12);
      while ((ethertype === 0x8100 || ethertype === 0x88a8) && off + 4 <= caplen) {
        ethertype = buf.readUInt16BE(off + 2);
        off += 4;
      }
      break;
    }
    case 113:
      if (caplen < 16) return caplen;
      ethertype = buf.readUInt16BE(14);
      off = 16;
      break;
    case 276:
      if (caplen < 20) return caplen;
      ethertype = buf.readUInt16BE(0);
      off = 20;
      break;
    case 0:
      off = 4;
      break;
    case 101:
      off = 0;
      break;
    default:
      return caplen;
  }
  if (off + 6 > caplen) return caplen;
  const version = buf[off] >> 4;
  if (version === 4 && (ethertype === -1 || ethertype === 0x0800)) return off + buf.readUInt16BE(off + 2);
  if (version === 6 && (ethertype === -1 || ethertype === 0x86dd)) return off + 40 + buf.readUInt16BE(off + 4);
  return caplen;
}
