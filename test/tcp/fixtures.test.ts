import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../helpers/paths';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import { TcpEngine } from '../../src/tcp/tcp-engine';
import type { FlowRecord } from '../../src/tcp/flow-record';
import { SS_STATES } from '../helpers/ss-states';

/**
 * Every kernel-made fixture (fixtures/<name>.pcap with <name>.ss.txt and
 * <name>.json) is read through readCapture -> Decoder -> TcpEngine, and the
 * engine's end states are compared with what `ss -tan` printed inside the
 * client and the server namespace at capture end. The ss text is parsed here;
 * the .json supplies the client/server addresses, the client ports used, the
 * close kinds (derived from ss and the client's own log) and per-flow packet
 * counts (from an independent pcap reader). Nothing is hard-coded.
 */

interface FixtureJson {
  name: string;
  pcap: string;
  ssFile: string;
  description: string;
  client: string;
  server: string;
  serverPorts: number[];
  captureStartedMidstream: boolean;
  connections: number[];
  closeKind: Record<string, string>;
  flows: {
    clientPort: number;
    firstFinBy: 'client' | 'server' | null;
    wire: {
      packets: number;
      clientSyn: number;
      serverSyn: number;
      clientFin: number;
      serverFin: number;
      clientRst: number;
      serverRst: number;
    };
  }[];
}

/** "No socket on this side": the engine may say CLOSED, or UNKNOWN for a side that never sent anything. */
const GONE = 'CLOSED|UNKNOWN';

function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  let host = s.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return [host, Number(s.slice(i + 1))];
}

/** Parse `ss -tan` output of both namespaces: client port -> state, per side. */
function parseSs(text: string, serverPorts: number[]): { client: Map<number, string>; server: Map<number, string> } {
  const out = { client: new Map<number, string>(), server: new Map<number, string>() };
  let side: 'client' | 'server' | null = null;
  for (const line of text.split('\n')) {
    const ns = /^# ns (client|server)\b/.exec(line);
    if (ns) {
      side = ns[1] as 'client' | 'server';
      continue;
    }
    const cols = line.trim().split(/\s+/);
    if (side === null || cols.length < 5 || cols[0] === 'State') continue;
    const state = SS_STATES[cols[0]];
    if (state === undefined) continue; // LISTEN and the like
    const [, localPort] = splitHostPort(cols[3]);
    const [, peerPort] = splitHostPort(cols[4]);
    if (side === 'client' && serverPorts.includes(peerPort)) out.client.set(localPort, state);
    if (side === 'server' && serverPorts.includes(localPort)) out.server.set(peerPort, state);
  }
  return out;
}

/** state -> sorted client ports */
function byState(entries: [number, string][]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [port, state] of entries) (out[state] ??= []).push(port);
  for (const k of Object.keys(out)) out[k].sort((a, b) => a - b);
  return out;
}

async function runEngine(pcap: string): Promise<FlowRecord[]> {
  const flows: FlowRecord[] = [];
  const engine = new TcpEngine({ onFlow: (f) => flows.push(f) });
  const decoder = new Decoder();
  let lastTs = 0;
  await readCapture(pcap, (raw) => {
    if (decoder.decode(raw)) {
      engine.packet(decoder.pkt, raw.tsUs);
      lastTs = raw.tsUs;
    }
  });
  engine.finish(lastTs);
  return flows;
}

const fixtureNames = fs.existsSync(fixturesDir)
  ? fs
      .readdirSync(fixturesDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .filter((n) => fs.existsSync(path.join(fixturesDir, `${n}.pcap`)) && fs.existsSync(path.join(fixturesDir, `${n}.ss.txt`)))
      .sort()
  : [];

test('kernel-made fixtures are present', () => {
  assert.ok(fixtureNames.length > 0, `no fixtures with .pcap + .ss.txt + .json in ${fixturesDir}`);
});

for (const name of fixtureNames) {
  test(`fixture ${name}: end states, close kinds and roles agree with ss`, async () => {
    const j = JSON.parse(fs.readFileSync(path.join(fixturesDir, `${name}.json`), 'utf8')) as FixtureJson;
    const ss = parseSs(fs.readFileSync(path.join(fixturesDir, j.ssFile), 'utf8'), j.serverPorts);
    const flows = await runEngine(path.join(fixturesDir, j.pcap));

    // One flow per connection the client made, client = originator, right addresses.
    assert.deepEqual(
      flows.map((f) => f.origP).sort((a, b) => a - b),
      [...j.connections].sort((a, b) => a - b),
      'one flow per client connection, the client as originator',
    );
    for (const f of flows) {
      assert.equal(f.origH, j.client, `orig address of ${f.origP}`);
      assert.equal(f.respH, j.server, `resp address of ${f.origP}`);
      assert.ok(j.serverPorts.includes(f.respP), `resp port ${f.respP}`);
      assert.equal(f.midstream, j.captureStartedMidstream, `midstream flag of ${f.origP}`);
    }

    // End states on each side, as sets of client ports per state, equal ss's.
    const norm = (s: string) => (s === 'CLOSED' || s === 'UNKNOWN' ? GONE : s);
    const ours = (side: 'orig' | 'resp') =>
      byState(flows.map((f) => [f.origP, norm(side === 'orig' ? f.origState : f.respState)]));
    const truth = (m: Map<number, string>) => byState(j.connections.map((p) => [p, m.get(p) ?? GONE]));
    assert.deepEqual(ours('orig'), truth(ss.client), 'client endpoint states vs ss in the client namespace');
    assert.deepEqual(ours('resp'), truth(ss.server), 'server endpoint states vs ss in the server namespace');

    // Close kinds and who closed first.
    const kinds = Object.fromEntries(flows.map((f) => [String(f.origP), f.closeKind]));
    assert.deepEqual(kinds, j.closeKind, 'close kinds');
    for (const jf of j.flows) {
      const f = flows.find((x) => x.origP === jf.clientPort) as FlowRecord;
      const want = jf.firstFinBy === null ? null : jf.firstFinBy === 'client' ? 'orig' : 'resp';
      assert.equal(f.firstFinBy, want, `first FIN of ${jf.clientPort}`);
      assert.equal(f.orig.packets + f.resp.packets, jf.wire.packets, `packets of ${jf.clientPort}`);
      // History letters agree with the flag counts of an independent pcap reader.
      const has = (ch: string) => f.history.includes(ch);
      const letters = `${jf.clientPort} ${f.history}`;
      assert.equal(has('S'), jf.wire.clientSyn > 0, `S in ${letters}`);
      assert.equal(has('h'), jf.wire.serverSyn > 0, `h in ${letters}`);
      assert.equal(has('F'), jf.wire.clientFin > 0, `F in ${letters}`);
      assert.equal(has('f'), jf.wire.serverFin > 0, `f in ${letters}`);
      assert.equal(has('R'), jf.wire.clientRst > 0, `R in ${letters}`);
      assert.equal(has('r'), jf.wire.serverRst > 0, `r in ${letters}`);
      assert.equal(f.firstRstBy !== null, jf.wire.clientRst + jf.wire.serverRst > 0);
      if (f.closeKind === 'close_wait' || f.closeKind === 'reset_after_half_close') assert.equal(f.firstFinAcked, true);
      if (f.origState === 'CLOSED' || f.origState === 'TIME_WAIT') {
        if (f.respState === 'CLOSED' || f.respState === 'TIME_WAIT') assert.equal(f.finished, true);
      }
    }

    // nginx's keepalive timer shows up as the idle time before its FIN.
    const keepalive = /keepalive_timeout (\d+)s/.exec(j.description);
    if (keepalive) {
      const timeoutUs = Number(keepalive[1]) * 1_000_000;
      const idle = flows.filter((f) => f.firstFinBy === 'resp').map((f) => f.idleBeforeFinUs as number);
      assert.ok(idle.length > 0);
      for (const us of idle) {
        // nginx leaves a pending timer alone when the new deadline is within
        // NGX_TIMER_LAZY_DELAY (300 ms) of it: its FIN can come up to that much late.
        assert.ok(us > timeoutUs - 50_000 && us < timeoutUs + 300_000, `idle before nginx FIN ${us} µs vs ${timeoutUs}`);
      }
    }
  });
}
