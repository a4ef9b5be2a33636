// Worker thread: sha256 of a whole file, read on its own so the digest costs
// the packet loop no time (the page cache serves both readers).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { file } = workerData as { file: string };
const hash = createHash('sha256');
createReadStream(file, { highWaterMark: 1 << 20 })
  .on('data', (chunk) => hash.update(chunk))
  .on('error', (err) => parentPort?.postMessage({ error: err.message }))
  .on('end', () => parentPort?.postMessage({ digest: hash.digest('hex') }));
