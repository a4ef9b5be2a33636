/** A problem with the database itself (missing, not ours, too new). The message is one line for a user. */
export class StoreError extends Error {
  readonly code: 'missing' | 'not_wirestate' | 'too_new' | 'too_old' | 'sqlite';
  constructor(code: StoreError['code'], message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}
