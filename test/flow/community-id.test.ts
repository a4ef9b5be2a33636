import { test } from 'node:test';
import assert from 'node:assert/strict';
import { communityId4, communityId6 } from '../../src/flow/community-id';

/**
 * The specification's published test vectors for the port-based protocols
 * (TCP 6, UDP 17, SCTP 132) and a protocol without ports (RSVP 46), with the
 * default seed 0 and with seed 1: corelight/community-id-spec,
 * baseline/baseline_deflt.json and baseline/baseline_seed1.json (commit
 * c4ec2bc40d65ddbcbdd642582bf5609797a80772). Each vector is listed in both
 * directions there, as here.
 */
const VECTORS: [number, string, string, number | null, number | null, string, string][] = [
  // proto, saddr, daddr, sport, dport, seed 0, seed 1
  [6, '2001:470:e5bf:dead:4957:2174:e82c:4887', '2607:f8b0:400c:c03::1a', 63943, 25, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=', '1:eJYTW6AOzFLlSUoESovMjnu7rMw='],
  [6, '2607:f8b0:400c:c03::1a', '2001:470:e5bf:dead:4957:2174:e82c:4887', 25, 63943, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=', '1:eJYTW6AOzFLlSUoESovMjnu7rMw='],
  [132, '192.168.170.8', '192.168.170.56', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=', '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg='],
  [132, '192.168.170.56', '192.168.170.8', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=', '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg='],
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [6, '66.35.250.204', '128.232.110.120', 80, 34855, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [17, '192.168.1.52', '8.8.8.8', 54585, 53, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [46, '10.1.12.1', '10.1.12.2', null, null, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=', '1:rYir8gphR31noO9iDRQmF/BteEI='],
  [46, '10.1.12.2', '10.1.12.1', null, null, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=', '1:rYir8gphR31noO9iDRQmF/BteEI='],
];

function v4(text: string): number {
  return text.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** Four 32-bit words of an IPv6 address in text (test input only). */
function v6(text: string): Uint32Array {
  const [head, tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return w;
}

test('Community ID v1 matches the specification\'s test vectors (seed 0 and seed 1)', () => {
  for (const [proto, s, d, sp, dp, id0, id1] of VECTORS) {
    for (const [seed, want] of [[0, id0], [1, id1]] as const) {
      const got = s.includes(':') ? communityId6(v6(s), sp, v6(d), dp, proto, seed) : communityId4(v4(s), sp, v4(d), dp, proto, seed);
      assert.equal(got, want, `${proto} ${s}:${sp} -> ${d}:${dp} seed ${seed}`);
    }
  }
});

test('Community ID orders by port when the addresses are equal', () => {
  const lo = 0x7f000001;
  assert.equal(communityId4(lo, 40000, lo, 80), communityId4(lo, 80, lo, 40000));
  assert.notEqual(communityId4(lo, 40000, lo, 80), communityId4(lo, 40001, lo, 80));
});
