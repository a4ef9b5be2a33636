/**
 * Offsets of the records of a little-endian classic pcap, walked naively: an
 * independent count for tests that must not hard-code a fixture's size.
 */
export function pcapRecordOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let o = 24; o + 16 <= buf.length; o += 16 + buf.readUInt32LE(o + 8)) out.push(o);
  return out;
}
