import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveLossLine, lossFreeUpTo, type LiveStep } from '../../bench/live-loss';

// The live-loss bench's verdict: a rate tried several times is loss-free
// only if no try lost a packet (one lucky run must not make the target PASS).

function step(rate: number, drops: number): LiveStep {
  const sent = rate * 3;
  return {
    rate,
    sentPps: rate,
    sent,
    tcpdump: sent,
    tcpdumpDropped: 0,
    tcpdumpTcp: sent,
    wirestate: sent - drops,
    wirestateTcp: sent - drops,
    drops,
    liveFlows: 10,
    fileFlows: 10,
    closeKindsDiffer: 0,
    longestFlushMs: 9,
    lossFree: drops === 0,
  };
}

test('a rate with one lossy try of three is not loss-free, and the line names that try', () => {
  const steps = [step(50_000, 0), step(100_000, 0), step(100_000, 684), step(100_000, 0), step(150_000, 21_095)];
  const ok = (s: LiveStep) => s.lossFree;
  assert.equal(lossFreeUpTo(steps, ok), 50_000);
  const line = liveLossLine({ steps, lossFreePps: lossFreeUpTo(steps, ok), liveArgs: [] });
  assert.match(line, /^live capture: loss-free up to 50k pkt\/s \(target 100k: FAIL\); at 100k pkt\/s it saw 299316 of 300000 TCP packets \(684 dropped/);
});

test('every try loss-free: the highest rate; none: 0; order of the steps does not matter', () => {
  const ok = (s: LiveStep) => s.lossFree;
  assert.equal(lossFreeUpTo([step(100_000, 0), step(100_000, 0), step(50_000, 0)], ok), 100_000);
  assert.equal(lossFreeUpTo([step(150_000, 5), step(100_000, 0)], ok), 100_000);
  assert.equal(lossFreeUpTo([step(10_000, 1), step(100_000, 0)], ok), 0);
  const line = liveLossLine({ steps: [step(100_000, 0), step(100_000, 0)], lossFreePps: 100_000, liveArgs: [] });
  assert.match(line, /loss-free up to 100k pkt\/s \(target 100k: PASS\); no step lost a packet$/);
});
