import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliPath, fixture } from '../helpers/paths';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI (the one from this build) to completion. */
export function runCli(args: string[], opts: { input?: Buffer | string; cwd?: string } = {}): CliRun {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    input: opts.input,
    cwd: opts.cwd,
    encoding: 'utf8',
    env: { ...process.env, WIRESTATE_DEBUG: '' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ws-cli-'));
}

/** Ground truth written next to each real-traffic fixture. */
export interface FixtureFlow {
  clientPort: number;
  clientState: string;
  serverState: string;
  closeKind: string;
  firstFinBy: 'client' | 'server' | null;
}
export interface FixtureTruth {
  name: string;
  description: string;
  family: string;
  client: string;
  server: string;
  serverPort: number;
  serverPorts: number[];
  captureStartedMidstream: boolean;
  capture: { packets: number; tcpPackets: number; firstTcpTs: number; lastTcpTs: number };
  connections: number[];
  closeKind: Record<string, string>;
  flows: FixtureFlow[];
}

/** Every fixture with a .json ground truth file. */
export function realFixtures(): FixtureTruth[] {
  const dir = path.dirname(fixture('x'));
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as FixtureTruth);
}

export function truth(name: string): FixtureTruth {
  return JSON.parse(fs.readFileSync(fixture(`${name}.json`), 'utf8')) as FixtureTruth;
}
