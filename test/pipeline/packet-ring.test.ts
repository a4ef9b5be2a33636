import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { makePacketRing, PacketRingReader, PacketRingWriter } from '../../src/pipeline/packet-ring';
import type { RawPacket } from '../../src/source/raw-packet';

// The live capture's packet ring (src/pipeline/packet-ring.ts): the capture
// thread copies each packet in, the tracker thread takes them out in order.

function packet(i: number, len: number): RawPacket {
  const buf = Buffer.alloc(len + 10);
  for (let k = 0; k < len; k++) buf[10 + k] = (i * 31 + k) & 0xff;
  return { buf, off: 10, caplen: len, origlen: len + 100, tsUs: 1_700_000_000_000_000 + i * 7, linktype: 1, interfaceId: 0, fileOffset: 0 };
}

function check(p: RawPacket, i: number, len: number): void {
  assert.equal(p.caplen, len, `packet ${i}: caplen`);
  assert.equal(p.origlen, len + 100);
  assert.equal(p.tsUs, 1_700_000_000_000_000 + i * 7);
  assert.equal(p.linktype, 1);
  for (let k = 0; k < len; k++) if (p.buf[p.off + k] !== ((i * 31 + k) & 0xff)) assert.fail(`packet ${i}: byte ${k}`);
}

test('packets come out in order with their bytes, lengths and times, across many wrap-arounds, records of every size straddling the end', () => {
  const sab = makePacketRing(8192);
  const w = new PacketRingWriter(sab);
  const r = new PacketRingReader(sab, 1);
  let sent = 0;
  let got = 0;
  const lens: number[] = [];
  // Sizes that do not divide the ring, so records end at every offset and the wrap marker is needed often.
  for (let round = 0; round < 2000; round++) {
    const burst = 1 + (round % 5);
    for (let b = 0; b < burst; b++) {
      const len = (sent * 37) % 700;
      assert.ok(w.push(packet(sent, len)), `packet ${sent} fits an emptied ring`);
      lens.push(len);
      sent++;
    }
    // One, then (every other round) the rest: the reader stops at every kind of offset.
    for (const max of round % 2 === 0 ? [1, 1e9] : [1]) {
      r.drain(max, (p) => {
        check(p, got, lens[got]);
        got++;
      });
    }
  }
  r.drain(1e9, (p) => {
    check(p, got, lens[got]);
    got++;
  });
  assert.equal(got, sent);
  assert.equal(r.taken, sent);
  assert.equal(w.queued, sent);
  assert.equal(w.droppedPackets, 0);
  assert.ok(r.empty);
});

test('a full ring drops the packet and counts it; nothing queued is lost or overwritten, and room comes back as packets are taken', () => {
  const sab = makePacketRing(1024);
  const w = new PacketRingWriter(sab);
  const r = new PacketRingReader(sab, 1);
  let queued = 0;
  while (w.push(packet(queued, 100))) queued++;
  // 128-byte records (24 header + 100 padded to 104): 7 fit in 1024 bytes, never all 8 (full must differ from empty).
  assert.equal(queued, 7);
  assert.equal(w.droppedPackets, 1);
  assert.equal(w.push(packet(99, 100)), false);
  assert.equal(w.droppedPackets, 2);
  let got = 0;
  r.drain(3, (p) => check(p, got++, 100));
  assert.equal(got, 3);
  // The room of the three taken is reusable (the next records wrap to the start).
  for (let i = 0; i < 3; i++) assert.ok(w.push(packet(queued + i, 100)), `after taking: packet ${queued + i}`);
  assert.equal(w.push(packet(0, 100)), false);
  r.drain(1e9, (p) => check(p, got++, 100));
  assert.equal(got, queued + 3);
  assert.equal(w.droppedPackets, 3);
});

test('between threads: a reader in a worker, woken from its sleep, takes every packet in order (sum of bytes and times checked)', async () => {
  const sab = makePacketRing(1 << 16);
  const w = new PacketRingWriter(sab);
  const n = 20_000;
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads');
    const { PacketRingReader } = require(workerData.mod);
    const r = new PacketRingReader(workerData.sab, 1);
    let got = 0, bad = 0, sum = 0;
    while (got < workerData.n) {
      if (r.drain(1000, (p) => { if (p.tsUs !== 1e15 + got * 7 || p.caplen !== got % 300) bad++; for (let k = 0; k < p.caplen; k++) sum += p.buf[p.off + k]; got++; }) === 0) r.sleep(50);
    }
    parentPort.postMessage({ got, bad, sum });
    `,
    { eval: true, workerData: { sab, n, mod: require.resolve('../../src/pipeline/packet-ring') } },
  );
  let expectSum = 0;
  for (let i = 0; i < n; ) {
    const len = i % 300;
    const buf = Buffer.alloc(len, i & 0xff);
    const p: RawPacket = { buf, off: 0, caplen: len, origlen: len, tsUs: 1e15 + i * 7, linktype: 1, interfaceId: 0, fileOffset: 0 };
    if (w.push(p)) {
      expectSum += len * (i & 0xff);
      i++;
    } else await new Promise((res) => setImmediate(res));
  }
  const result = await new Promise<{ got: number; bad: number; sum: number }>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  await worker.terminate();
  assert.deepEqual(result, { got: n, bad: 0, sum: expectSum });
});
