/**
 * A problem with a capture file's framing. `offset` is the byte offset in the
 * (decompressed) input where the problem was found. The message is one line
 * and meant to be shown to a user as is: `${file}: ${message} at byte ${offset}`.
 */
export class CaptureError extends Error {
  readonly file: string;
  readonly offset: number;
  /** Stable machine-readable code, e.g. 'empty_file', 'not_a_capture', 'truncated_header'. */
  readonly code: string;

  constructor(file: string, offset: number, code: string, detail: string) {
    super(`${file}: ${detail} at byte ${offset}`);
    this.name = 'CaptureError';
    this.file = file;
    this.offset = offset;
    this.code = code;
  }
}
