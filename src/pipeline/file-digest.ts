import { createHash } from 'node:crypto';
import fs from 'node:fs';

/** Hex sha256 of a file's bytes as stored (what readCapture reports as `sha256`). */
export async function fileSha256(file: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    if (signal?.aborted) break;
    h.update(chunk as Buffer);
  }
  return h.digest('hex');
}
