import { readCapture } from '../source/read-capture';
import { CaptureError } from '../source/capture-error';

/**
 * Timestamp (µs) of the first record of a capture file, reading only its
 * first chunk; null when the file holds no packet. Throws CaptureError for an
 * unusable file, exactly as a full read would.
 */
export async function firstPacketTime(file: string): Promise<number | null> {
  const ctl = new AbortController();
  let first: number | null = null;
  try {
    await readCapture(
      file,
      (p) => {
        if (first === null) {
          first = p.tsUs;
          ctl.abort();
        }
      },
      { signal: ctl.signal, hash: false },
    );
  } catch (err) {
    if (!(err instanceof CaptureError && err.code === 'aborted' && first !== null)) throw err;
  }
  return first;
}
