import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import { TcpEngine } from '../../src/tcp/tcp-engine';
import type { FlowRecord } from '../../src/tcp/flow-record';

/**
 * One run of real kernel traffic (fixtures/make/keepalive-leak-both-ends.sh:
 * nginx keep-alive leak and refused connections over a 5 ms path) captured
 * six ways at once: on the client's and on the server's device, both
 * directions and one direction only (tcpdump -Q in / -Q out). The ground
 * truth is the kernel's own log of every socket state change (tracepoint
 * sock:inet_sock_set_state, fixtures/keepalive-leak-both-ends.kstate.txt),
 * turned into fixtures/vantage/keepalive-leak-both-ends.json by
 * make/kstate-to-json.py; ss at capture end is in the ordinary fixture's
 * .ss.txt / .json.
 */

interface KernelTransition {
  ts: number;
  endpoint: 'client' | 'server';
  to: string;
}
interface VantageJson {
  name: string;
  captures: { tag: string; pcap: string; host: 'client' | 'server'; direction: 'both' | 'in' | 'out'; capturedOnly: 'orig' | 'resp' | null; vantage: 'client' | 'server' }[];
  connections: { clientPort: number; closeKind: string; kernelTransitions: KernelTransition[] }[];
}

const NAME = 'keepalive-leak-both-ends';
const dir = fixture('vantage');
const doc = JSON.parse(fs.readFileSync(path.join(dir, `${NAME}.json`), 'utf8')) as VantageJson;

async function flowsOf(pcap: string): Promise<FlowRecord[]> {
  const flows: FlowRecord[] = [];
  const engine = new TcpEngine({ onFlow: (f) => flows.push(f) });
  const decoder = new Decoder();
  let lastTs = 0;
  await readCapture(path.join(dir, pcap), (raw) => {
    if (decoder.decode(raw)) {
      engine.packet(decoder.pkt, raw.tsUs);
      lastTs = raw.tsUs;
    }
  });
  engine.finish(lastTs);
  return flows;
}

const byPort = (flows: FlowRecord[]) => new Map(flows.map((f) => [f.origP, f]));

test('the fixture holds every connection of the run in each of its six captures', async () => {
  assert.equal(doc.captures.length, 6);
  for (const c of doc.captures) {
    const flows = await flowsOf(c.pcap);
    assert.deepEqual(
      flows.map((f) => f.origP).sort(),
      doc.connections.map((k) => k.clientPort).sort(),
      `${c.tag}: one flow per client connection, the client as originator`,
    );
  }
});

for (const c of doc.captures) {
  if (c.direction === 'both') {
    test(`${c.tag}: both directions seen, vantage point estimated at the ${c.host}`, async () => {
      const flows = await flowsOf(c.pcap);
      const want = c.host === 'client' ? 'orig' : 'resp';
      let estimated = 0;
      for (const f of flows) {
        assert.equal(f.capturedOnly, null, `${f.origP} seen both ways`);
        assert.equal(f.closeKindInferred, false);
        const k = doc.connections.find((x) => x.clientPort === f.origP);
        assert.equal(f.closeKind, k?.closeKind, `${f.origP} close kind as ss and the client's log say`);
        if (f.rttToOrigUs === null) continue; // refused: no handshake
        estimated++;
        assert.equal(f.vantage, want, `${f.origP}: half-RTTs ${f.rttToRespUs} µs to the server, ${f.rttToOrigUs} µs to the client`);
      }
      assert.equal(estimated, doc.connections.filter((k) => k.closeKind !== 'refused').length, 'every handshake measured');
    });
  } else {
    test(`${c.tag}: only the ${c.capturedOnly === 'orig' ? 'client' : 'server'}'s packets; no finding the missing direction alone would cause`, async () => {
      const flows = await flowsOf(c.pcap);
      for (const f of flows) {
        const k = doc.connections.find((x) => x.clientPort === f.origP);
        assert.ok(k);
        const synOnly = f.orig.packets > 0 && f.resp.packets === 0 && !f.history.toLowerCase().includes('a');
        assert.ok(!['fin_unacked', 'last_ack_unacked'].includes(f.closeKind), `${f.origP}: ${f.closeKind}`);
        assert.equal(f.vantage, null, 'no handshake seen both ways: no vantage estimate');
        if (synOnly) {
          // A lone SYN proves nothing by itself; the store turns it into 'unknown'
          // once the whole capture is known to be one-direction (test/cli/imperfect-captures).
          assert.equal(k.closeKind, 'refused');
          assert.equal(f.closeKind, 'no_reply');
          continue;
        }
        assert.equal(f.capturedOnly, c.capturedOnly, `${f.origP}: one direction detected`);
        assert.notEqual(f.closeKind, 'no_reply', `${f.origP}: the ACKs prove the server answered`);
        if (c.capturedOnly === 'orig') {
          // The client's ACKs prove the server's SYN+ACK, data and FIN: the leak is still seen.
          if (k.closeKind === 'close_wait') {
            assert.equal(f.closeKind, 'close_wait');
            assert.equal(f.origState, 'CLOSE_WAIT');
            assert.equal(f.respState, 'FIN_WAIT_2');
            assert.equal(f.respStateInferred, true);
            assert.equal(f.origStateInferred, false);
            assert.equal(f.closeKindInferred, true);
            assert.ok(f.transitions.some((t) => t.endpoint === 'resp' && t.to === 'FIN_WAIT_1' && /not seen/.test(t.cause)), 'the FIN inferred, and said so');
          } else {
            // The client closed first: the server's ACK of that FIN could not be captured.
            assert.equal(f.closeKind, 'unknown');
            assert.equal(f.respState, 'UNKNOWN');
          }
        } else if (k.closeKind === 'refused') {
          // Only the RST+ACK: it acknowledges a SYN the capture did not show.
          assert.equal(f.closeKind, 'refused');
          assert.equal(f.closeKindInferred, true);
          assert.equal(f.origStateInferred, true);
          assert.equal(f.midstream, false);
        } else {
          // The server's FIN can never be seen acknowledged: not a stuck FIN_WAIT_1, UNKNOWN.
          assert.equal(f.closeKind, 'unknown');
          assert.equal(f.origState, 'UNKNOWN');
          assert.equal(f.closeKindInferred, false);
          const last = f.transitions.filter((t) => t.endpoint === 'orig').at(-1);
          assert.equal(last?.to, 'UNKNOWN');
          assert.match(last?.cause ?? '', /direction not captured/);
        }
      }
    });
  }
}

/**
 * Every transition of the endpoint on whose host the capture was taken
 * matches the kernel's event, in order and within 2 ms; every kernel event
 * (artefacts named by kstate-to-json.py set aside) matches a transition.
 * Set aside on the wirestate side: the server's SYN_RECEIVED (Linux keeps
 * the half-open connection in a request socket whose state is not logged),
 * and the server's CLOSED on a refused SYN (no socket ever existed).
 */
for (const c of doc.captures.filter((x) => x.direction === 'both')) {
  test(`${c.tag}: every ${c.host} transition within 2 ms of the kernel's tracepoint event`, async () => {
    const flows = byPort(await flowsOf(c.pcap));
    const ep = c.host === 'client' ? 'orig' : 'resp';
    let compared = 0;
    let worst = 0;
    for (const k of doc.connections) {
      const f = flows.get(k.clientPort);
      assert.ok(f);
      const kernel = k.kernelTransitions.filter((t) => t.endpoint === c.host);
      const ours = f.transitions.filter(
        (t) => t.endpoint === ep && !(c.host === 'server' && t.to === 'SYN_RECEIVED') && !(c.host === 'server' && kernel.length === 0 && t.to === 'CLOSED'),
      );
      assert.deepEqual(
        ours.map((t) => t.to),
        kernel.map((t) => t.to),
        `${k.clientPort}: the ${c.host}'s states in the kernel's order`,
      );
      for (let i = 0; i < ours.length; i++) {
        const dtUs = Math.abs(ours[i].tsUs - Math.round(kernel[i].ts * 1e6));
        worst = Math.max(worst, dtUs);
        assert.ok(dtUs <= 2000, `${k.clientPort} ${ours[i].to} (${ours[i].cause}): ${dtUs} µs from the kernel's event`);
        compared++;
      }
    }
    assert.ok(compared >= 15, `${compared} transitions compared (worst ${worst} µs)`);
  });
}

test("the client's CLOSE_WAIT begins at the FIN's arrival, not at its delayed ACK", async () => {
  const flows = byPort(await flowsOf(doc.captures.find((c) => c.tag === 'client')!.pcap));
  let n = 0;
  for (const k of doc.connections.filter((x) => x.closeKind === 'close_wait')) {
    const f = flows.get(k.clientPort)!;
    const cw = f.transitions.find((t) => t.endpoint === 'orig' && t.to === 'CLOSE_WAIT')!;
    const fin = f.transitions.find((t) => t.endpoint === 'resp' && t.to === 'FIN_WAIT_1')!;
    const acked = f.transitions.find((t) => t.endpoint === 'resp' && t.to === 'FIN_WAIT_2')!;
    // Captured at the client: the FIN's own timestamp; the ACK (proof) came a delayed ACK later.
    assert.equal(cw.tsUs, fin.tsUs);
    assert.ok(acked.tsUs - cw.tsUs > 20_000, `delayed ACK ${acked.tsUs - cw.tsUs} µs`);
    n++;
  }
  assert.ok(n >= 3);
});

test("captured at the server, the client's CLOSE_WAIT is the FIN's time plus half the client's half-RTT", async () => {
  const flows = byPort(await flowsOf(doc.captures.find((c) => c.tag === 'server')!.pcap));
  for (const k of doc.connections.filter((x) => x.closeKind === 'close_wait')) {
    const f = flows.get(k.clientPort)!;
    assert.equal(f.vantage, 'resp');
    const cw = f.transitions.find((t) => t.endpoint === 'orig' && t.to === 'CLOSE_WAIT')!;
    const fin = f.transitions.find((t) => t.endpoint === 'resp' && t.to === 'FIN_WAIT_1')!;
    assert.equal(cw.tsUs - fin.tsUs, Math.round((f.rttToOrigUs as number) / 2));
    const kernelUs = Math.round(k.kernelTransitions.find((t) => t.endpoint === 'client' && t.to === 'CLOSE_WAIT')!.ts * 1e6);
    const ack = f.transitions.find((t) => t.endpoint === 'resp' && t.to === 'FIN_WAIT_2')!;
    // Not on the client's host: the estimate assumes the path as long as at the
    // handshake and symmetric (the relay's timing varies by a few ms on a busy
    // machine), so it is only checked to be nearer the kernel's time than the
    // client's ACK, where CLOSE_WAIT used to be dated.
    assert.ok(Math.abs(cw.tsUs - kernelUs) < Math.abs(ack.tsUs - kernelUs), `${cw.tsUs - kernelUs} µs from the kernel, the ACK ${ack.tsUs - kernelUs} µs`);
  }
});
