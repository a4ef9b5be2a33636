import { CaptureError } from '../source/capture-error';
import { firstPacketTime } from './first-packet-time';
import { IngestAborted, unusable, type PlannedInput, type SkippedInput } from './ingest-types';

/**
 * Stage 2 of a file ingest: several inputs are read as ONE continuous
 * capture in order of their first packet (rotated tcpdump -C/-G files, so a
 * connection spanning two files is one flow); ties and inputs without a
 * packet time (standard input, a file with no packet) keep their
 * command-line order, the latter last. A file unusable before its first
 * packet is left out (added to `skipped`). `several`: more than one input was
 * given (otherwise nothing is opened here).
 */
export async function orderInputs(inputs: readonly PlannedInput[], skipped: SkippedInput[], several: boolean, signal?: AbortSignal): Promise<PlannedInput[]> {
  const ordered: PlannedInput[] = [];
  for (const input of inputs) {
    if (signal?.aborted) throw new IngestAborted();
    let first: number | null = null;
    if (several && input.sha256 !== null) {
      try {
        first = await firstPacketTime(input.path);
      } catch (err) {
        if (err instanceof CaptureError) {
          skipped.push({ order: input.order, result: unusable(input.path, input.sha256, err.message) });
          continue;
        }
        throw err;
      }
    }
    ordered.push({ ...input, firstTsUs: first });
  }
  ordered.sort((a, b) => (a.firstTsUs ?? Infinity) - (b.firstTsUs ?? Infinity) || a.order - b.order);
  return ordered;
}
