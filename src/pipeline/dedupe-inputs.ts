import fs from 'node:fs';
import type { FlowStore } from '../store/flow-store';
import { fileSha256 } from './file-digest';
import { alreadyStored, IngestAborted, unusable, type PlannedInput, type SkippedInput } from './ingest-types';

/**
 * Stage 1 of a file ingest, before any write: the size and content hash
 * (sha256) of every input, and which of them to leave out, as unusable (no
 * such file, a directory, ...) or as a duplicate of a file already stored or
 * of an earlier input. A single file that no stored file can equal (none of
 * its size) is not hashed here but while it is read (readCapture hashes in a
 * worker thread); standard input ('-') likewise. Kept inputs come in
 * command-line order; firstTsUs is not known yet (orderInputs).
 */
export async function dedupeInputs(store: FlowStore, paths: readonly string[], signal?: AbortSignal): Promise<{ inputs: PlannedInput[]; skipped: SkippedInput[] }> {
  const inputs: PlannedInput[] = [];
  const skipped: SkippedInput[] = [];
  const seen = new Map<string, string>();
  for (let i = 0; i < paths.length; i++) {
    if (signal?.aborted) throw new IngestAborted();
    const p = paths[i];
    if (p === '-') {
      inputs.push({ path: p, sha256: null, firstTsUs: null, size: null, order: i });
      continue;
    }
    let sha: string | null = null;
    let size: number | null = null;
    try {
      size = fs.statSync(p).size;
      // A duplicate hashed during the read is still caught after it, and the ingest rolled back.
      if (paths.length > 1 || store.mayHoldFileOfSize(size)) sha = await fileSha256(p, signal);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
      skipped.push({ order: i, result: unusable(p, null, `${p}: ${why} at byte 0`) });
      continue;
    }
    if (signal?.aborted) throw new IngestAborted();
    if (sha === null) {
      inputs.push({ path: p, sha256: null, firstTsUs: null, size, order: i });
      continue;
    }
    const stored = store.findFile(sha);
    if (stored) {
      skipped.push({ order: i, result: alreadyStored(p, sha, stored) });
      continue;
    }
    const twin = seen.get(sha);
    if (twin !== undefined) {
      skipped.push({
        order: i,
        result: { path: p, status: 'duplicate', sha256: sha, captureId: null, packets: 0, firstTsUs: null, lastTsUs: null, message: `${p}: same content as ${twin}, read once`, fatal: false },
      });
      continue;
    }
    seen.set(sha, p);
    inputs.push({ path: p, sha256: sha, firstTsUs: null, size, order: i });
  }
  return { inputs, skipped };
}
