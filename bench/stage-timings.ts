import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { Decoder } from '../src/decode/decoder';
import { readCapture } from '../src/source/read-capture';
import { TcpEngine } from '../src/tcp/tcp-engine';

/**
 * Where ingest time goes, stage by stage, in one process on one file:
 * plain 1 MiB reads, reads + sha256, readCapture with an empty handler, and
 * readCapture + decode, and + the TCP engine (flow records built, not stored).
 * Usage: node dist/bench/stage-timings.js FILE [runs]
 */

async function time(label: string, runs: number, fn: () => Promise<number>): Promise<void> {
  const walls: number[] = [];
  let n = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    n = await fn();
    walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  walls.sort((a, b) => a - b);
  process.stdout.write(`${label.padEnd(34)} ${walls[walls.length >> 1].toFixed(3)} s  (${n})\n`);
}

async function main(): Promise<void> {
  const file = process.argv[2];
  const runs = Number(process.argv[3] ?? 3);
  if (!file) throw new Error('usage: stage-timings FILE [runs]');
  await time('read 1 MiB chunks', runs, async () => {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    let total = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
    }
    fs.closeSync(fd);
    return total;
  });
  await time('read + sha256', runs, async () => {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    const h = createHash('sha256');
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
    fs.closeSync(fd);
    return h.digest('hex').length;
  });
  await time('readCapture, empty handler', runs, async () => {
    let n = 0;
    await readCapture(file, () => {
      n++;
    });
    return n;
  });
  await time('readCapture + decode', runs, async () => {
    const d = new Decoder();
    let tcp = 0;
    await readCapture(file, (raw) => {
      if (d.decode(raw)) tcp++;
    });
    return tcp;
  });
  await time('readCapture + decode + engine', runs, async () => {
    const d = new Decoder();
    let flows = 0;
    const engine = new TcpEngine({ onFlow: () => flows++ });
    let last = 0;
    await readCapture(file, (raw) => {
      last = raw.tsUs;
      if (d.decode(raw)) engine.packet(d.pkt, raw.tsUs);
    });
    engine.finish(last);
    return flows;
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`stage-timings: ${(e as Error).message}\n`);
  process.exitCode = 2;
});
