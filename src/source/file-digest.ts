import path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * sha256 of a regular file computed in a worker thread, in parallel with the
 * packet loop. Resolves to the hex digest, or null when the worker could not
 * hash the file (the caller then has no digest to offer).
 */
export function digestFileInWorker(file: string): { result: Promise<string | null>; cancel: () => void } {
  let worker: Worker;
  try {
    worker = new Worker(path.join(__dirname, 'hash-worker.js'), { workerData: { file } });
  } catch {
    return { result: Promise.resolve(null), cancel: () => undefined };
  }
  const result = new Promise<string | null>((resolve) => {
    worker.once('message', (m: { digest?: string }) => {
      resolve(m.digest ?? null);
      void worker.terminate();
    });
    worker.once('error', () => resolve(null));
    worker.once('exit', () => resolve(null));
  });
  return { result, cancel: () => void worker.terminate() };
}
