import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliPath, repoRoot, fixture } from '../helpers/paths';

/**
 * The built CLI copied next to a node_modules that has commander and
 * better-sqlite3 but no `cap`: what a user gets where libpcap-dev was missing
 * at install time (the optional dependency failed to build).
 */
function installWithoutCap(dir: string): string {
  const outDir = path.resolve(cliPath, '..', '..', '..');
  fs.cpSync(path.join(outDir, 'src'), path.join(dir, 'dist', 'src'), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(dir, 'package.json'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const dep of ['commander', 'better-sqlite3']) {
    fs.symlinkSync(path.join(repoRoot, 'node_modules', dep), path.join(dir, 'node_modules', dep), 'dir');
  }
  return path.join(dir, 'dist', 'src', 'cli', 'main.js');
}

test('without the cap addon: live and interfaces say how to get it, everything else works', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wse-nocap-'));
  try {
    const cli = installWithoutCap(dir);
    const probe = spawnSync(process.execPath, ['-e', "require('cap')"], { cwd: path.dirname(cli), encoding: 'utf8' });
    if (probe.status === 0) {
      t.skip("a 'cap' module is reachable from the temporary directory (global NODE_PATH?), cannot simulate its absence");
      return;
    }
    const env = { ...process.env, NODE_PATH: '' };
    for (const cmd of [['interfaces'], ['live', '-i', 'lo', '--duration', '1', '--db', path.join(dir, 'x.db')]]) {
      const r = spawnSync(process.execPath, [cli, ...cmd], { encoding: 'utf8', env });
      assert.equal(r.status, 2, `${cmd[0]}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^wirestate: live capture needs the optional 'cap' addon.*libpcap-dev.*npm rebuild cap/);
    }
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', env });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /live/);
    const capture = fixture('server-never-closes.pcap');
    if (fs.existsSync(capture)) {
      const ing = spawnSync(process.execPath, [cli, 'ingest', '--quiet', '--db', path.join(dir, 'f.db'), capture], { encoding: 'utf8', env });
      assert.equal(ing.status, 0, ing.stderr);
    } else {
      t.diagnostic('fixture server-never-closes.pcap missing: ingest without cap not checked');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
