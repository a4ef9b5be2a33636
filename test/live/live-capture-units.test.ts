import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyOpenError, linktypeFromCapName, wireLength } from '../../src/source/live-capture';
import { describeDevices } from '../../src/host/network-devices';

test('cap link type names map to LINKTYPE_* numbers (DLT_RAW 12 -> 101)', () => {
  assert.equal(linktypeFromCapName('ETHERNET'), 1);
  assert.equal(linktypeFromCapName('NULL'), 0);
  assert.equal(linktypeFromCapName('LINKTYPE_LINUX_SLL'), 113);
  assert.equal(linktypeFromCapName('RAW'), 101);
  assert.equal(linktypeFromCapName('Unknown linktype 276'), 276);
  assert.equal(linktypeFromCapName('Unknown linktype 12'), 101);
  assert.equal(linktypeFromCapName('something else'), -1);
});

test('wire length of a packet cut by the snaplen comes from its IP header', () => {
  // Ethernet + IPv4 total length 1500, only 54 bytes captured.
  const v4 = Buffer.alloc(54);
  v4.writeUInt16BE(0x0800, 12);
  v4[14] = 0x45;
  v4.writeUInt16BE(1500, 16);
  assert.equal(wireLength(v4, 54, 1), 14 + 1500);
  // 802.1Q tagged IPv6, payload length 1000.
  const v6 = Buffer.alloc(80);
  v6.writeUInt16BE(0x8100, 12);
  v6.writeUInt16BE(0x86dd, 16);
  v6[18] = 0x60;
  v6.writeUInt16BE(1000, 22);
  assert.equal(wireLength(v6, 80, 1), 18 + 40 + 1000);
  // Linux SLL carrying IPv4.
  const sll = Buffer.alloc(40);
  sll.writeUInt16BE(0x0800, 14);
  sll[16] = 0x45;
  sll.writeUInt16BE(600, 18);
  assert.equal(wireLength(sll, 40, 113), 16 + 600);
  // ARP, or a header cut too short: the captured length.
  const arp = Buffer.alloc(42);
  arp.writeUInt16BE(0x0806, 12);
  assert.equal(wireLength(arp, 42, 1), 42);
  assert.equal(wireLength(v4, 16, 1), 16);
});

test('libpcap open errors are classified into one-line advice', () => {
  const perm = classifyOpenError('socket: Operation not permitted', 'eth0');
  assert.equal(perm.code, 'permission');
  assert.match(perm.message, /root or grant CAP_NET_RAW.*setcap cap_net_raw,cap_net_admin=eip/);
  assert.equal(classifyOpenError("eth9: No such device exists (SIOCGIFHWADDR: No such device)", 'eth9').code, 'no_such_device');
  const other = classifyOpenError('That device is not up\nsecond line', 'ifb0');
  assert.equal(other.code, 'open_failed');
  assert.equal(other.message, 'cannot capture on ifb0: That device is not up');
});

test('default device: first non-loopback kernel interface that is up, pseudo-devices never', () => {
  const flags: Record<string, number> = { lo: 0x9, eth0: 0x1002, eth1: 0x1003 };
  const devs = describeDevices(
    [
      { name: 'any', description: 'Pseudo-device', addresses: [] },
      { name: 'lo', addresses: [{ addr: '127.0.0.1', netmask: '255.0.0.0' }, { addr: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' }], flags: 'PCAP_IF_LOOPBACK' },
      { name: 'eth0', addresses: [] },
      { name: 'eth1', addresses: [{ addr: '10.79.0.1', netmask: '255.255.255.0' }, { addr: 'fd00::1', netmask: 'ffff:ffff:ffff:ffff::' }] },
    ],
    (n) => flags[n] ?? null,
    () => true,
  );
  assert.deepEqual(
    devs.map((d) => [d.name, d.up, d.loopback, d.isDefault]),
    [
      ['any', null, false, false],
      ['lo', true, true, false],
      ['eth0', false, false, false],
      ['eth1', true, false, true],
    ],
  );
  assert.deepEqual(devs[1].addresses, ['127.0.0.1/8', '::1/128']);
  assert.deepEqual(devs[3].addresses, ['10.79.0.1/24', 'fd00::1/64']);
});
