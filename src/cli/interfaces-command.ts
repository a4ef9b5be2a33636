import { Command } from 'commander';
import { CliError, action, usageErrors } from './cli-error';
import { listNetworkDevices, type NetworkDevice } from '../host/network-devices';
import { LiveCaptureError } from '../source/live-capture';

function stateText(d: NetworkDevice): string {
  const parts: string[] = [];
  if (d.up === null) parts.push('pseudo');
  else parts.push(d.up ? (d.running ? 'up' : 'up,no-carrier') : 'down');
  if (d.loopback) parts.push('loopback');
  return parts.join(',');
}

/** Text table of devices; `*` marks the default capture device. */
export function renderInterfaces(devices: NetworkDevice[]): string {
  const nameW = Math.max(4, ...devices.map((d) => d.name.length));
  const states = devices.map(stateText);
  const stateW = Math.max(5, ...states.map((s) => s.length));
  const lines = [`  ${'NAME'.padEnd(nameW)}  ${'STATE'.padEnd(stateW)}  ADDRESSES / DESCRIPTION`];
  devices.forEach((d, i) => {
    const rest = [...d.addresses];
    if (d.description) rest.push(`(${d.description})`);
    lines.push(`${d.isDefault ? '*' : ' '} ${d.name.padEnd(nameW)}  ${states[i].padEnd(stateW)}  ${rest.join(' ')}`.trimEnd());
  });
  const def = devices.find((d) => d.isDefault);
  lines.push(def ? `* default for 'wirestate live' (first non-loopback interface that is up)` : `no default: no non-loopback interface is up; use 'wirestate live -i NAME'`);
  return lines.join('\n') + '\n';
}

export function registerInterfaces(program: Command): void {
  usageErrors(program.command('interfaces'))
    .description('list the devices live capture can use (libpcap), with addresses and flags; * marks the default')
    .option('--json', 'print JSON')
    .action(
      action((opts: { json?: boolean }) => {
        let devices: NetworkDevice[];
        try {
          devices = listNetworkDevices();
        } catch (err) {
          if (err instanceof LiveCaptureError) throw new CliError(err.message, 2);
          throw err;
        }
        if (opts.json) process.stdout.write(JSON.stringify(devices, null, 2) + '\n');
        else process.stdout.write(renderInterfaces(devices));
      }),
    );
}
