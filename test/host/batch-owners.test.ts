import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fixturesDir } from '../helpers/paths';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import { TcpEngine } from '../../src/tcp/tcp-engine';
import { decodeFlowBatch, encodeFlowRecords } from '../../src/tcp/flow-batch';
import type { FlowRecord } from '../../src/tcp/flow-record';
import { BatchOwners } from '../../src/host/batch-owners';

// The live writer thread puts socket owners into the batches it is handed (src/host/batch-owners.ts): checked with
// real sockets of this process on loopback (/proc/net/tcp and /proc/self/fd) and real flow records of a fixture.

async function fixtureFlows(name: string): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  const engine = new TcpEngine({ onFlow: (f) => out.push(f), app: true });
  const d = new Decoder();
  await readCapture(path.join(fixturesDir, `${name}.pcap`), (raw) => {
    if (d.decode(raw)) engine.packet(d.pkt, raw.tsUs, raw.buf);
  });
  engine.finish(Number.MAX_SAFE_INTEGER / 2);
  return out;
}

/** A connected loopback pair held by this process: the client's port and the server's. */
async function connectedPair(server: net.Server, sockets: net.Socket[]): Promise<{ cport: number; sport: number }> {
  const sport = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<void>((resolve) => server.once('connection', (s) => (sockets.push(s), resolve())));
  const c = net.connect(sport, '127.0.0.1');
  sockets.push(c);
  await new Promise<void>((resolve) => c.once('connect', () => resolve()));
  await accepted;
  return { cport: c.localPort as number, sport };
}

function onTuple(f: FlowRecord, cport: number, sport: number): FlowRecord {
  return { ...f, ipVersion: 4, origH: '127.0.0.1', origP: cport, respH: '127.0.0.1', respP: sport };
}

test('owners go into the flows whose sockets this host holds, the rest of every record unchanged; a batch with none is passed as it is', async () => {
  const records = await fixtureFlows('nginx-stale-reuse-reset');
  assert.ok(records.length >= 3);
  assert.ok(records.some((f) => f.http !== undefined && f.transitions.length > 0));
  const server = net.createServer();
  const sockets: net.Socket[] = [];
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  try {
    const one = await connectedPair(server, sockets);
    const two = await connectedPair(server, sockets);
    const comm = fs.readFileSync('/proc/self/comm', 'utf8').trim();
    const owners = new BatchOwners();
    owners.refresh();

    const foreign = encodeFlowRecords(records);
    assert.equal(owners.attach(foreign), foreign, 'no local socket: the same batch, not a copy');

    const input = [onTuple(records[0], one.cport, one.sport), records[1], onTuple(records[2], two.cport, two.sport)];
    const out = decodeFlowBatch(owners.attach(encodeFlowRecords(input)));
    const both = [
      { endpoint: 'orig', pid: process.pid, command: comm },
      { endpoint: 'resp', pid: process.pid, command: comm },
    ];
    assert.deepEqual(out[0].owners, both);
    assert.equal(out[1].owners, undefined);
    assert.deepEqual(out[2].owners, both);
    assert.deepEqual(out, [{ ...input[0], owners: both }, input[1], { ...input[2], owners: both }]);
    assert.equal(owners.flowsWithOwners, 2);
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('a flow written before its socket was seen is written again, once, with its owner after the next refresh', async () => {
  const [rec] = await fixtureFlows('nginx-stale-reuse-reset');
  const server = net.createServer();
  const sockets: net.Socket[] = [];
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  try {
    const owners = new BatchOwners();
    owners.refresh();
    const { cport, sport } = await connectedPair(server, sockets);
    const flow = onTuple(rec, cport, sport);
    // Written with the owners of the refresh before the connection existed: none.
    assert.equal(decodeFlowBatch(owners.attach(encodeFlowRecords([flow])))[0].owners, undefined);
    assert.equal(owners.flowsWithOwners, 0);
    const again = owners.refresh();
    assert.ok(again !== null);
    const [rewritten] = decodeFlowBatch(again);
    assert.deepEqual({ ...rewritten, owners: undefined }, { ...flow, owners: undefined });
    assert.deepEqual(rewritten.owners?.map((o) => o.endpoint), ['orig', 'resp']);
    assert.equal(owners.flowsWithOwners, 1);
    assert.equal(owners.refresh(), null, 'retried once');
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});
