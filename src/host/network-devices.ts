import fs from 'node:fs';
import { listCapDevices, LiveCaptureError, type CapDevice } from '../source/live-capture';

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

export interface NetworkDevice {
  name: string;
  description: string | null;
  /** Addresses as `addr/prefix`. */
  addresses: string[];
  loopback: boolean;
  /** Administratively up (IFF_UP); null for libpcap pseudo-devices with no kernel interface ('any', 'nflog'…). */
  up: boolean | null;
  /** Link has carrier (operstate not down/lowerlayerdown/notpresent); null for pseudo-devices. */
  running: boolean | null;
  /** The device `wirestate live` captures on without -i. */
  isDefault: boolean;
}

/** Whether the link has carrier, from /sys/class/net/<name>/operstate ('unknown' counts as running, as for lo). */
export function readInterfaceRunning(name: string, sysNet = '/sys/class/net'): boolean | null {
  if (name.includes('/') || name === '.' || name === '..') return null;
  try {
    const s = fs.readFileSync(`${sysNet}/${name}/operstate`, 'utf8').trim();
    return !(s === 'down' || s === 'lowerlayerdown' || s === 'notpresent');
  } catch {
    return null;
  }
}

/** Kernel interface flags from /sys/class/net/<name>/flags, or null for non-kernel devices. */
export function readInterfaceFlags(name: string, sysNet = '/sys/class/net'): number | null {
  if (name.includes('/') || name === '.' || name === '..') return null;
  try {
    return parseInt(fs.readFileSync(`${sysNet}/${name}/flags`, 'utf8').trim(), 16);
  } catch {
    return null;
  }
}

function prefixLength(netmask: string | undefined): number | null {
  if (!netmask) return null;
  let bits = 0;
  if (netmask.includes(':')) {
    const parts = netmask.split('::')[0].split(':').filter((p) => p !== '');
    for (const p of parts) bits += countBits(parseInt(p, 16));
    return bits;
  }
  for (const p of netmask.split('.')) bits += countBits(Number(p));
  return bits;
}

function countBits(v: number): number {
  let n = 0;
  while (v) {
    n += v & 1;
    v >>>= 1;
  }
  return n;
}

/**
 * libpcap's devices with kernel flags, the default marked: the first device
 * that is up and not loopback and is a real interface, as tcpdump picks.
 */
export function describeDevices(
  devices: CapDevice[],
  flagsOf = readInterfaceFlags,
  runningOf = readInterfaceRunning,
): NetworkDevice[] {
  const out: NetworkDevice[] = devices.map((d) => {
    const flags = flagsOf(d.name);
    const loopback = d.flags === 'PCAP_IF_LOOPBACK' || (flags !== null && (flags & IFF_LOOPBACK) !== 0);
    return {
      name: d.name,
      description: d.description ?? null,
      addresses: d.addresses
        .filter((a) => a.addr)
        .map((a) => {
          const p = prefixLength(a.netmask);
          return p === null ? String(a.addr) : `${a.addr}/${p}`;
        }),
      loopback,
      up: flags === null ? null : (flags & IFF_UP) !== 0,
      running: flags === null ? null : (flags & IFF_UP) !== 0 && runningOf(d.name) === true,
      isDefault: false,
    };
  });
  const def = out.find((d) => d.up === true && !d.loopback);
  if (def) def.isDefault = true;
  return out;
}

/** The devices libpcap can capture on, described (throws LiveCaptureError when cap is missing). */
export function listNetworkDevices(): NetworkDevice[] {
  return describeDevices(listCapDevices());
}

/** The default capture device, or a LiveCaptureError naming the devices there are. */
export function defaultDevice(devices: NetworkDevice[]): string {
  const d = devices.find((x) => x.isDefault);
  if (d) return d.name;
  throw new LiveCaptureError(
    'no_default_device',
    `no interface is up apart from loopback; choose one with -i (interfaces: ${devices.map((x) => x.name).join(', ') || 'none'})`,
  );
}
