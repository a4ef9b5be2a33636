import type { ReadResult } from '../source/capture-info';
import { END_TS_US, MIN_TS_US } from '../source/format-reader';
import { readCapture } from '../source/read-capture';
import type { DecodedPacket } from './decoded-packet';
import { Decoder, DecoderCounts } from './decoder';

/** What `wirestate stats` reports about one capture file: what reading it gave, and what decoding found. */
export interface CaptureStats extends ReadResult {
  decoded: DecoderCounts;
  /** Non-zero anomaly counts by name. */
  anomalies: Record<string, number>;
  /** For each anomaly, the byte offset of the first packet record that had it. */
  anomalyFirstOffsets: Record<string, number>;
}

/**
 * Read and decode a whole capture. Throws CaptureError when the file is
 * unusable. `onTcp` sees every decoded TCP packet (the decoder's reused
 * struct, valid during the call), e.g. to track flows as well.
 */
export async function captureStats(file: string, onTcp?: (pkt: DecodedPacket, tsUs: number) => void): Promise<CaptureStats> {
  const decoder = new Decoder();
  const r = await readCapture(file, (raw) => {
    if (decoder.decode(raw) && onTcp) onTcp(decoder.pkt, raw.tsUs);
  });
  decoder.finish();
  return {
    ...r,
    decoded: decoder.counts(),
    // The reader's framing anomalies (bad_timestamp, ...) beside the decoder's.
    anomalies: { ...decoder.anomalies.toObject(), ...r.anomalies },
    anomalyFirstOffsets: { ...decoder.anomalies.firstOffsets(), ...r.anomalyFirstOffsets },
  };
}

/**
 * Integer µs since the epoch -> ISO 8601 UTC with microseconds:
 * 2026-11-27T04:52:35.223776Z; null for any number that is not a time from
 * 1970 to 9999 (NaN, ±Infinity, 1e300: a Date would throw).
 */
export function isoMicros(us: number): string | null {
  if (!(us >= MIN_TS_US && us < END_TS_US)) return null;
  const sec = Math.floor(us / 1e6);
  const frac = Math.floor(us - sec * 1e6);
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(frac).padStart(6, '0')}Z`;
}
