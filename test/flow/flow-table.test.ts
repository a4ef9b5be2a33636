import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIR_FROM_ORIG, DIR_FROM_RESP, DIR_NONE, FlowTable, KeyedFlow } from '../../src/flow/flow-table';
import { flowHash4, flowHash6 } from '../../src/flow/flow-key';
import { firstPacketSenderIsOrig } from '../../src/flow/originator-guess';
import { DeadlineHeap } from '../../src/flow/deadline-heap';

function flow4(o: number, op: number, r: number, rp: number): KeyedFlow {
  return {
    ipVersion: 4,
    origAddr4: o,
    respAddr4: r,
    origAddr6: null,
    respAddr6: null,
    origPort: op,
    respPort: rp,
    bucketHash: 0,
    nextInBucket: null,
  };
}

test('flow hashes do not depend on direction', () => {
  assert.equal(flowHash4(1, 2, 3, 4), flowHash4(3, 4, 1, 2));
  assert.notEqual(flowHash4(1, 2, 3, 4), flowHash4(1, 4, 3, 2));
  const a = new Uint32Array([0x20010db8, 0, 0, 1]);
  const b = new Uint32Array([0x20010db8, 0, 0, 2]);
  assert.equal(flowHash6(a, 1000, b, 80), flowHash6(b, 80, a, 1000));
  assert.ok(flowHash4(0xffffffff, 65535, 0xfffffffe, 65534) <= 0x3fffffff);
});

test('flow table finds a flow from either direction and only on exact fields', () => {
  const t = new FlowTable<KeyedFlow>();
  const f = flow4(0x0a000001, 40000, 0x0a000002, 80);
  assert.equal(t.find4(0x0a000001, 40000, 0x0a000002, 80), null);
  t.insert(f, t.lastHash);
  assert.equal(t.find4(0x0a000001, 40000, 0x0a000002, 80), f);
  assert.equal(t.lastDir, DIR_FROM_ORIG);
  assert.equal(t.find4(0x0a000002, 80, 0x0a000001, 40000), f);
  assert.equal(t.lastDir, DIR_FROM_RESP);
  assert.equal(t.find4(0x0a000001, 80, 0x0a000002, 40000), null);
  assert.equal(t.lastDir, DIR_NONE);
  assert.equal(t.size, 1);
  assert.ok(t.remove(f));
  assert.equal(t.size, 0);
  assert.equal(t.find4(0x0a000001, 40000, 0x0a000002, 80), null);
});

test('flow table with many flows: all found both ways, removal from bucket chains', () => {
  const t = new FlowTable<KeyedFlow>();
  const flows: KeyedFlow[] = [];
  let x = 12345;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 20000; i++) {
    const f = flow4(rnd(), rnd() & 0xffff, rnd(), rnd() & 0xffff);
    if (t.find4(f.origAddr4, f.origPort, f.respAddr4, f.respPort) !== null) continue;
    t.insert(f, t.lastHash);
    flows.push(f);
  }
  // flows sharing a bucket (same addresses, ports swapped between sides) stay distinct
  const g1 = flow4(7, 1, 9, 2);
  const g2 = flow4(7, 2, 9, 1);
  t.find4(7, 1, 9, 2);
  t.insert(g1, t.lastHash);
  t.find4(7, 2, 9, 1);
  t.insert(g2, t.lastHash);
  flows.push(g1, g2);
  for (const f of flows) {
    assert.equal(t.find4(f.respAddr4, f.respPort, f.origAddr4, f.origPort), f);
  }
  for (let i = 0; i < flows.length; i += 2) assert.ok(t.remove(flows[i]));
  for (let i = 0; i < flows.length; i++) {
    const found = t.find4(flows[i].origAddr4, flows[i].origPort, flows[i].respAddr4, flows[i].respPort);
    assert.equal(found, i % 2 === 0 ? null : flows[i]);
  }
  assert.equal(t.size, flows.length / 2);
  assert.equal(t.all().length, flows.length / 2);
});

test('IPv6 lookups compare all four words', () => {
  const t = new FlowTable<KeyedFlow>();
  const a = new Uint32Array([0xfd770000, 0, 0, 0x00090002]);
  const b = new Uint32Array([0xfd770000, 0, 0, 0x00090001]);
  const f: KeyedFlow = { ...flow4(0, 54620, 0, 80), ipVersion: 6, origAddr6: a, respAddr6: b };
  t.find6(a, 54620, b, 80);
  t.insert(f, t.lastHash);
  assert.equal(t.find6(b, 80, a, 54620), f);
  const c = new Uint32Array([0xfd770001, 0, 0, 0x00090002]);
  assert.equal(t.find6(c, 54620, b, 80), null);
  assert.equal(t.find4(0, 54620, 0, 80), null, 'an IPv4 key never matches an IPv6 flow');
});

test('originator guess for mid-stream flows: the server-like port is the responder', () => {
  assert.equal(firstPacketSenderIsOrig(80, 40000), false);
  assert.equal(firstPacketSenderIsOrig(40000, 80), true);
  assert.equal(firstPacketSenderIsOrig(9000, 51562), false);
  assert.equal(firstPacketSenderIsOrig(51562, 9000), true);
  assert.equal(firstPacketSenderIsOrig(5432, 8080), false, 'both registered: lower is the responder');
  assert.equal(firstPacketSenderIsOrig(22, 443), false, 'both well-known: lower is the responder');
  assert.equal(firstPacketSenderIsOrig(40000, 40000), true);
});

test('deadline heap pops in deadline order', () => {
  const h = new DeadlineHeap<number>();
  let x = 99;
  const keys: number[] = [];
  for (let i = 0; i < 1000; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    keys.push(x % 5000);
    h.push(x % 5000, i);
  }
  keys.sort((a, b) => a - b);
  const out: number[] = [];
  while (h.size > 0) {
    out.push(h.peekDeadline());
    h.pop();
  }
  assert.deepEqual(out, keys);
  assert.equal(h.peekDeadline(), Number.POSITIVE_INFINITY);
});
