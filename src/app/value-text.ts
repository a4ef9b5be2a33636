/**
 * Header values (User-Agent, Server, Host, SNI) as strings, made once: the
 * same few values repeat across thousands of flows, so a small cache keyed
 * by a hash of the bytes (checked byte for byte) hands back the string made
 * the first time instead of decoding it again for every flow.
 */

/** Longest value kept (longer ones are cut to this many characters). */
export const MAX_VALUE_CHARS = 256;
const SLOTS = 1024;

const cachedBytes: (Buffer | null)[] = new Array(SLOTS).fill(null);
const cachedText: string[] = new Array(SLOTS).fill('');

export function valueText(buf: Uint8Array, s: number, e: number): string {
  if (e - s > MAX_VALUE_CHARS) e = s + MAX_VALUE_CHARS;
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  const slot = (h >>> 0) % SLOTS;
  const c = cachedBytes[slot];
  if (c !== null && c.length === e - s) {
    let i = 0;
    while (i < c.length && c[i] === buf[s + i]) i++;
    if (i === c.length) return cachedText[slot];
  }
  const bytes = Buffer.from(buf.subarray(s, e));
  const text = bytes.toString('latin1');
  cachedBytes[slot] = bytes;
  cachedText[slot] = text;
  return text;
}
