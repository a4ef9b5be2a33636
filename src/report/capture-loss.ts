/**
 * The capture-loss estimate, as Zeek's capture-loss script takes it:
 * acknowledged bytes the capture never saw, against all acknowledged bytes,
 * both counted while the two endpoints of a connection were established
 * (TcpEngine.lossCounts). Payload cut by the snaplen is not loss. `cap`
 * exposes no drop counts, so live this estimate is the only signal.
 */
export interface LossCounts {
  ackedBytes: number;
  gapBytes: number;
}

/** Above this share of acknowledged bytes missed, the report cautions (Zeek's capture-loss notice uses 10%; conclusions about one FIN need less). */
export const LOSS_CAUTION_PERCENT = 1;

/** Percent of acknowledged bytes never seen; null when nothing was acknowledged. */
export function lossPercent(c: LossCounts | null | undefined): number | null {
  if (!c || !(c.ackedBytes > 0)) return null;
  return (100 * Math.max(0, c.gapBytes)) / c.ackedBytes;
}

/** "0.42% (1,234 of 293,000 acknowledged bytes never seen)", or "n/a (…)" with nothing acknowledged. */
export function lossText(c: LossCounts | null | undefined): string {
  const pct = lossPercent(c);
  if (pct === null || !c) return 'n/a (no data acknowledged on an established connection)';
  const digits = pct === 0 || pct >= 10 ? 1 : pct >= 1 ? 2 : 3;
  return `${pct.toFixed(digits)}% (${c.gapBytes.toLocaleString('en-US')} of ${c.ackedBytes.toLocaleString('en-US')} acknowledged bytes never seen)`;
}
