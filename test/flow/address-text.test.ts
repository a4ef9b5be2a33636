import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4Text, ipv6Text } from '../../src/flow/address-text';

function v6(...groups: number[]): Uint32Array {
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return w;
}

test('ipv4Text: dotted quad of an unsigned 32-bit number', () => {
  assert.equal(ipv4Text(0x0a4d0102), '10.77.1.2');
  assert.equal(ipv4Text(0xffffffff), '255.255.255.255');
  assert.equal(ipv4Text(0), '0.0.0.0');
  assert.equal(ipv4Text(-1), '255.255.255.255');
});

test('ipv6Text follows RFC 5952', () => {
  assert.equal(ipv6Text(v6(0, 0, 0, 0, 0, 0, 0, 0)), '::');
  assert.equal(ipv6Text(v6(0, 0, 0, 0, 0, 0, 0, 1)), '::1');
  assert.equal(ipv6Text(v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)), '2001:db8::1');
  assert.equal(ipv6Text(v6(0xfd77, 0, 0, 0, 0, 0, 9, 2)), 'fd77::9:2');
  // a single zero group is not compressed
  assert.equal(ipv6Text(v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1)), '2001:db8:0:1:1:1:1:1');
  // the longest run wins; the first on a tie
  assert.equal(ipv6Text(v6(0x2001, 0, 0, 1, 0, 0, 0, 1)), '2001:0:0:1::1');
  assert.equal(ipv6Text(v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)), '2001:db8::1:0:0:1');
  // lowercase, no leading zeros
  assert.equal(ipv6Text(v6(0xfe80, 0, 0, 0, 0x0abc, 0xdef0, 0x00ff, 0x0001)), 'fe80::abc:def0:ff:1');
  assert.equal(ipv6Text(v6(0xfe80, 0, 0, 0, 0, 0, 0, 0)), 'fe80::');
  // IPv4-mapped
  assert.equal(ipv6Text(v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)), '::ffff:192.0.2.1');
});
