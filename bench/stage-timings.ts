import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Decoder } from '../src/decode/decoder';
import { ingestFiles, type IngestStageTimes } from '../src/pipeline/ingest-files';
import { readCapture } from '../src/source/read-capture';
import { FlowStore } from '../src/store/flow-store';
import { FlowBatchBuilder } from '../src/tcp/flow-batch';
import { TcpEngine } from '../src/tcp/tcp-engine';

/**
 * Where ingest time goes, stage by stage, in one process on one file (each
 * figure the median of `runs`, in seconds):
 *   read    readCapture with an empty handler (the file hashed alongside, as ingest does for a lone file)
 *   decode  + Decoder, minus read
 *   engine  + TcpEngine encoding finished flows into batches (nothing stored), minus read + decode
 *   finish  the engine's end of input: every flow still held encoded
 *   write   a whole ingest with the SQLite writes in this thread, minus all of the above and commit
 *   commit  its end: capture row, index builds, COMMIT
 * and the default ingest (writes in a worker thread): its read / finish /
 * commit stages as seen from the main thread (commit = waiting for the
 * writer's last rows, index builds and COMMIT after the read is over).
 * Plain 1 MiB reads and reads + sha256 are shown for scale.
 * Usage: node dist/bench/stage-timings.js FILE [runs] [--json]
 */

export interface StageBreakdown {
  file: string;
  runs: number;
  plainReadS: number;
  sha256S: number;
  readS: number;
  decodeS: number;
  engineS: number;
  finishS: number;
  writeS: number;
  commitS: number;
  inlineTotalS: number;
  /** The default ingest, main thread's view. */
  worker: { readS: number; finishS: number; commitS: number; totalS: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function timed(runs: number, fn: () => Promise<void>): Promise<number> {
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(walls);
}

function plainRead(file: string, hash: boolean): void {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  const h = hash ? createHash('sha256') : null;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    h?.update(buf.subarray(0, n));
  }
  fs.closeSync(fd);
}

async function ingestStages(file: string, writer: 'inline' | 'worker'): Promise<IngestStageTimes> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-stages-'));
  const store = FlowStore.open(path.join(dir, 'x.db'));
  const stageTimes: IngestStageTimes = { planMs: 0, readMs: 0, finishMs: 0, commitMs: 0 };
  try {
    await ingestFiles(store, [file], { writer, stageTimes });
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return stageTimes;
}

export async function stageBreakdown(file: string, runs: number): Promise<StageBreakdown> {
  const plainReadS = await timed(runs, async () => plainRead(file, false));
  const sha256S = await timed(runs, async () => plainRead(file, true));
  const read = await timed(runs, async () => {
    await readCapture(file, () => undefined);
  });
  const readDecode = await timed(runs, async () => {
    const d = new Decoder();
    await readCapture(file, (raw) => {
      d.decode(raw);
    });
  });
  const finishes: number[] = [];
  const readDecodeEngine = await timed(runs, async () => {
    const d = new Decoder();
    const batch = new FlowBatchBuilder();
    const engine = new TcpEngine({ encodeInto: { batch, onEncoded: () => (batch.count >= 500 ? void batch.take() : undefined) } });
    let last = 0;
    await readCapture(file, (raw) => {
      last = raw.tsUs;
      if (d.decode(raw)) engine.packet(d.pkt, raw.tsUs);
    });
    const t0 = process.hrtime.bigint();
    engine.finish(last);
    finishes.push(Number(process.hrtime.bigint() - t0) / 1e9);
  });
  const finishS = median(finishes);
  const inline: IngestStageTimes[] = [];
  const worker: IngestStageTimes[] = [];
  for (let i = 0; i < runs; i++) {
    inline.push(await ingestStages(file, 'inline'));
    worker.push(await ingestStages(file, 'worker'));
  }
  const m = (xs: IngestStageTimes[], k: keyof IngestStageTimes): number => median(xs.map((x) => x[k])) / 1000;
  const inlineTotalS = median(inline.map((x) => x.planMs + x.readMs + x.finishMs + x.commitMs)) / 1000;
  const commitS = m(inline, 'commitMs');
  return {
    file,
    runs,
    plainReadS,
    sha256S,
    readS: read,
    decodeS: readDecode - read,
    engineS: readDecodeEngine - finishS - readDecode,
    finishS,
    writeS: inlineTotalS - commitS - (readDecodeEngine - finishS) - finishS,
    commitS,
    inlineTotalS,
    worker: {
      readS: m(worker, 'readMs'),
      finishS: m(worker, 'finishMs'),
      commitS: m(worker, 'commitMs'),
      totalS: median(worker.map((x) => x.planMs + x.readMs + x.finishMs + x.commitMs)) / 1000,
    },
  };
}

export function renderBreakdown(b: StageBreakdown): string {
  const f = (x: number): string => x.toFixed(3).padStart(7);
  return [
    `  stages (in-process, median of ${b.runs}; plain 1 MiB reads ${b.plainReadS.toFixed(3)} s, + sha256 ${b.sha256S.toFixed(3)} s):`,
    `    writes inline : read ${f(b.readS)}  decode ${f(b.decodeS)}  engine ${f(b.engineS)}  finish ${f(b.finishS)}  write ${f(b.writeS)}  commit ${f(b.commitS)}  = ${b.inlineTotalS.toFixed(3)} s`,
    `    writer thread : read+decode+engine+writes ${f(b.worker.readS)}  finish ${f(b.worker.finishS)}  commit (waiting for the writer) ${f(b.worker.commitS)}  = ${b.worker.totalS.toFixed(3)} s`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const [file, runsArg] = args.filter((a) => a !== '--json');
  if (!file) throw new Error('usage: stage-timings FILE [runs] [--json]');
  const b = await stageBreakdown(file, Number(runsArg ?? 3));
  process.stdout.write(json ? JSON.stringify(b) + '\n' : `${file}\n${renderBreakdown(b)}\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`stage-timings: ${(e as Error).message}\n`);
    process.exitCode = 2;
  });
}
