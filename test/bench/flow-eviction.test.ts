import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTraffic, type GenerateSummary } from '../../bench/generate-traffic';
import { Decoder } from '../../src/decode/decoder';
import { readCapture } from '../../src/source/read-capture';
import { TcpEngine } from '../../src/tcp/tcp-engine';

// Memory must follow the connections open at a time, not the length of the
// capture: the engine has to let go of finished flows (closed, TIME_WAIT
// expired, reset, refused) and of flows idle past the timeout. Checked by
// counting the flows it holds, not by timing anything.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wirestate-evict-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

interface EngineRun {
  emitted: number;
  peakHeld: number;
  heldAtEnd: number;
}

async function runEngine(file: string, idleTimeoutUs: number): Promise<EngineRun> {
  const decoder = new Decoder();
  let emitted = 0;
  const engine = new TcpEngine({ onFlow: () => emitted++, idleTimeoutUs });
  let peakHeld = 0;
  let lastTs = 0;
  await readCapture(file, (raw) => {
    lastTs = raw.tsUs;
    if (decoder.decode(raw)) {
      engine.packet(decoder.pkt, raw.tsUs);
      if (engine.activeFlows > peakHeld) peakHeld = engine.activeFlows;
    }
  });
  const heldAtEnd = engine.activeFlows;
  engine.finish(lastTs);
  return { emitted, peakHeld, heldAtEnd };
}

function gen(name: string, repeat: number): GenerateSummary {
  return generateTraffic({ out: path.join(tmp, name), connections: 5000, rate: 20, seed: 21, repeat });
}

const one = gen('one.pcap', 1);
const three = gen('three.pcap', 3);

test('every generated connection comes out as exactly one flow, and the open ones are held', async () => {
  // Idle timeout above the longest silence in the traffic (a leak lives up to 8 min).
  const r = await runEngine(one.file, 600_000_000);
  assert.equal(r.emitted, one.connections);
  assert.ok(r.peakHeld >= one.peakActive, `at least the ${one.peakActive} open at once are held (held ${r.peakHeld})`);
});

test('the engine holds as many flows on a 3x longer capture: finished flows are let go', async () => {
  const r1 = await runEngine(one.file, 7_200_000_000);
  const r3 = await runEngine(three.file, 7_200_000_000);
  assert.equal(r3.emitted, three.connections);
  // Held: the open connections, plus closed ones for their 60 s of TIME_WAIT
  // and 2 s of linger; far fewer than all the connections of the capture.
  assert.ok(r3.peakHeld < three.connections / 5, `peak held ${r3.peakHeld} of ${three.connections} connections`);
  const growth = r3.peakHeld / r1.peakHeld;
  assert.ok(growth < 1.25, `peak held flows ${r1.peakHeld} -> ${r3.peakHeld} on a 3x longer capture`);
  assert.ok(r3.heldAtEnd < 1.25 * r1.heldAtEnd, `held at the end ${r1.heldAtEnd} -> ${r3.heldAtEnd}`);
});
