import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PacketTracker } from '../src/pipeline/packet-tracker';
import { readCapture } from '../src/source/read-capture';
import { FlowStore } from '../src/store/flow-store';
import type { FlowBatch } from '../src/tcp/flow-batch';

/**
 * What the database writer costs per flow, apart from everything before it:
 * the file is read, decoded and tracked once (the finished flows kept as the
 * batches ingest hands to its writer), then the same batches are written
 * `reps` times, each time into a fresh database in one bulk transaction as
 * file ingest does (writeRows, then endCapture and COMMIT with its index
 * builds), in this thread. Prints each repetition's CPU and wall time, and
 * per flow.
 *
 * For instruction counts, which a busy machine does not disturb, run it
 * under callgrind twice, with 1 and with N repetitions: the difference of
 * the two totals divided by N - 1 is one repetition's writes, without the
 * read and the JIT warm-up.
 * Usage: node dist/bench/writer-cost.js FILE [reps]
 */
async function main(): Promise<void> {
  const [file, repsArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: writer-cost FILE [reps]');
  const reps = Number(repsArg ?? 3);
  const batches: FlowBatch[] = [];
  const tracker = new PacketTracker({ onBatch: (b) => batches.push(b) });
  let lastTsUs = 0;
  await readCapture(file, (p) => {
    lastTsUs = p.tsUs;
    tracker.onPacket(p);
  });
  tracker.finish(lastTsUs);
  const flows = batches.reduce((n, b) => n + b.count, 0);
  process.stdout.write(`${file}: ${flows} flows in ${batches.length} batches\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-writer-cost-'));
  try {
    for (let r = 0; r < reps; r++) {
      const store = FlowStore.open(path.join(dir, `w${r}.db`));
      store.beginTransaction({ bulk: true });
      const id = store.beginCapture({ source: file, kind: 'file' });
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      // writeRows takes a batch as handed over by a worker (its own copy each time).
      for (const b of batches) store.writeRows(id, { count: b.count, nums: b.nums, texts: b.texts }, { fresh: true });
      const c1 = process.cpuUsage(c0);
      const t1 = performance.now();
      store.endCapture(id, { firstTsUs: null, lastTsUs, packets: 0, tcpPackets: 0, bytes: 0, anomalies: {}, truncated: false });
      store.commit();
      const c2 = process.cpuUsage(c0);
      const t2 = performance.now();
      store.close();
      const rowsCpu = (c1.user + c1.system) / 1000;
      const allCpu = (c2.user + c2.system) / 1000;
      process.stdout.write(
        `  rep ${r + 1}: rows ${rowsCpu.toFixed(0)} ms cpu (${(t1 - t0).toFixed(0)} wall), commit ${(allCpu - rowsCpu).toFixed(0)} ms cpu (${(t2 - t1).toFixed(0)} wall); ` +
          `${((allCpu * 1000) / flows).toFixed(1)} µs cpu per flow\n`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
