import { captureStats, type CaptureStats } from '../decode/capture-stats';
import { TcpEngine } from '../tcp/tcp-engine';
import { SightTally, type CaptureSight } from '../report/capture-sight';
import type { LossCounts } from '../report/capture-loss';

/**
 * `wirestate stats` of one file plus what the capture could see (one
 * direction only? where was it taken?): the file is read once, its TCP
 * packets go through the TCP engine as ingest would, and the flows are
 * tallied instead of stored (capture-sight.ts); with the engine's
 * capture-loss counts.
 */
export async function captureStatsAndSight(file: string): Promise<{ stats: CaptureStats; sight: CaptureSight; loss: LossCounts }> {
  const tally = new SightTally();
  const engine = new TcpEngine({ onFlow: (f) => tally.add(f) });
  let lastTs = 0;
  const stats = await captureStats(file, (pkt, tsUs) => {
    engine.packet(pkt, tsUs);
    if (tsUs > lastTs) lastTs = tsUs;
  });
  engine.finish(lastTs);
  return { stats, sight: tally.result(), loss: engine.lossCounts() };
}
