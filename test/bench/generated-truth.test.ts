import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTraffic } from '../../bench/generate-traffic';
import { Decoder } from '../../src/decode/decoder';
import { readCapture } from '../../src/source/read-capture';
import type { FlowRecord } from '../../src/tcp/flow-record';
import { TcpEngine } from '../../src/tcp/tcp-engine';

// The benchmark's traffic is only worth timing if wirestate reads it right:
// every generated connection must come out as one flow whose close kind is
// what the generator scripted (its ground truth), including the CLOSE_WAIT
// leaks still open when the capture stops and the stale-reuse resets.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wirestate-truth-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** Close kinds each scripted ending may produce; `cut` = the capture stopped before the connection's last packet. */
function expectedKinds(ending: string, complete: boolean): string[] {
  if (!complete) {
    // Cut off: still open, or the server's idle FIN was ACKed and the client never closed.
    if (ending === 'close_wait_leak' || ending === 'stale_reuse_reset' || ending === 'keepalive_close') return ['open', 'close_wait'];
    return ['open'];
  }
  switch (ending) {
    case 'client_close':
    case 'server_close':
    case 'keepalive_close':
      return ['normal'];
    case 'client_abort':
      return ['reset'];
    case 'refused':
      return ['refused'];
    case 'no_reply':
      return ['no_reply'];
    case 'stale_reuse_reset':
      // Data written into the half-closed connection drew the RST.
      return ['reset_after_half_close'];
    case 'close_wait_leak':
      // Minutes later the client's FIN drew an RST from the server that had forgotten the socket.
      return ['reset', 'reset_after_half_close'];
    default:
      throw new Error(`unknown ending ${ending}`);
  }
}

test('every generated connection is one flow with the close kind the generator scripted', async () => {
  const file = path.join(tmp, 'truth.pcap');
  const truthFile = path.join(tmp, 'truth.csv');
  const s = generateTraffic({ out: file, connections: 4000, rate: 20, seed: 99, truthFile, ipv6Share: 0.05 });
  const flows = new Map<string, FlowRecord>();
  const decoder = new Decoder();
  const engine = new TcpEngine({
    onFlow: (f) => {
      const key = `${f.origH},${f.origP},${f.respH},${f.respP},${(f.firstTsUs / 1e6).toFixed(6)}`;
      assert.ok(!flows.has(key), `one flow per connection (${key})`);
      flows.set(key, f);
    },
  });
  let lastTs = 0;
  await readCapture(file, (raw) => {
    lastTs = raw.tsUs;
    if (decoder.decode(raw)) engine.packet(decoder.pkt, raw.tsUs);
  });
  engine.finish(lastTs);

  const lines = fs.readFileSync(truthFile, 'utf8').trim().split('\n').slice(1);
  assert.equal(lines.length, s.connections);
  const wrong: string[] = [];
  let closeWaitAtEnd = 0;
  for (const line of lines) {
    const [h, p, rh, rp, ts, ending, complete] = line.split(',');
    const f = flows.get(`${h},${p},${rh},${rp},${ts}`);
    assert.ok(f, `a flow for ${line}`);
    flows.delete(`${h},${p},${rh},${rp},${ts}`);
    const ok = expectedKinds(ending, complete === '1');
    if (!ok.includes(f.closeKind)) wrong.push(`${line} -> ${f.closeKind} (${f.history} ${f.connState})`);
    if (f.closeKind === 'close_wait') {
      closeWaitAtEnd++;
      assert.equal(f.origState, 'CLOSE_WAIT', 'the pooled client (originator) is the side stuck in CLOSE_WAIT');
      assert.equal(f.firstFinBy, 'resp', 'the server closed first');
    }
  }
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} connections with an unexpected close kind`);
  assert.equal(flows.size, 0, 'no flow without a generated connection');
  assert.ok(closeWaitAtEnd > 0, 'some leaks are still in CLOSE_WAIT when the capture stops');
});
