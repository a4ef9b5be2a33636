import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { once } from 'node:events';
import { parseProcNetTcp, readKernelTcpSockets, KERNEL_TCP_STATES } from '../../src/host/proc-net-tcp';
import { ipv6Text } from '../../src/host/ip-text';
import { Netns, netnsUnavailable, uniqueTag, waitForLine } from './netns';

// Lines as a little-endian x86 kernel prints them (copied from real /proc/net/tcp{,6} output).
const TCP_LE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1520 1 000000006028f517 100 0 0 10 0
   1: 01004F0A:1F90 02004F0A:B5C2 08 00000000:00000000 00:00000000 00000000     0        0 48213 1 00000000a1b2c3d4 20 4 30 10 -1
`;
const TCP6_LE = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F91 00000000000000000000000001000000:D431 01 00000000:00000000 00:00000000 00000000  1000        0 777 1 0000000000000000 20 4 30 10 -1
   1: 0000000000000000FFFF000001004F0A:1F92 0000000000000000FFFF000002004F0A:C001 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   2: B80D0120000000000000000001000000:0050 B80D0120000000000000000002000000:E000 05 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 20 4 30 10 -1
`;

test('IPv4 rows: little-endian address words, hex ports, state and inode', () => {
  const rows = parseProcNetTcp(TCP_LE, 'tcp', true);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0], {
    ipVersion: 4, table: 'tcp', localAddr: '0.0.0.0', localPort: 2024, remoteAddr: '0.0.0.0', remotePort: 0,
    state: 10, inode: 1520, uid: 0,
  });
  assert.equal(rows[1].localAddr, '10.79.0.1');
  assert.equal(rows[1].localPort, 8080);
  assert.equal(rows[1].remoteAddr, '10.79.0.2');
  assert.equal(rows[1].remotePort, 0xb5c2);
  assert.equal(KERNEL_TCP_STATES[rows[1].state], 'CLOSE_WAIT');
  assert.equal(rows[1].inode, 48213);
});

test('IPv4 rows printed by a big-endian kernel read the same addresses', () => {
  const be = TCP_LE.replace('01004F0A', '0A4F0001').replace('02004F0A', '0A4F0002');
  const rows = parseProcNetTcp(be, 'tcp', false);
  assert.equal(rows[1].localAddr, '10.79.0.1');
  assert.equal(rows[1].remoteAddr, '10.79.0.2');
});

test('IPv6 rows: ::1, v4-mapped addresses become IPv4, RFC 5952 text', () => {
  const rows = parseProcNetTcp(TCP6_LE, 'tcp6', true);
  assert.equal(rows.length, 3);
  assert.equal(rows[0].localAddr, '::1');
  assert.equal(rows[0].ipVersion, 6);
  assert.equal(rows[0].uid, 1000);
  assert.equal(rows[1].localAddr, '10.79.0.1');
  assert.equal(rows[1].remoteAddr, '10.79.0.2');
  assert.equal(rows[1].ipVersion, 4);
  assert.equal(rows[1].table, 'tcp6');
  assert.equal(rows[1].inode, 0, 'TIME_WAIT rows have no inode');
  assert.equal(rows[2].localAddr, '2001:db8::1');
  assert.equal(rows[2].remoteAddr, '2001:db8::2');
});

test('RFC 5952 text: longest zero run, first on ties, no single-group ::', () => {
  assert.equal(ipv6Text([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), '2001:db8::1:0:0:1');
  assert.equal(ipv6Text([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), '2001:db8:0:1:1:1:1:1');
  assert.equal(ipv6Text([0x2001, 0, 0, 1, 0, 0, 0, 1]), '2001:0:0:1::1');
  assert.equal(ipv6Text([0, 0, 0, 0, 0, 0, 0, 0]), '::');
  assert.equal(ipv6Text([0xfe80, 0, 0, 0, 0xfc, 0xff, 0xfe00, 1]), 'fe80::fc:ff:fe00:1');
});

function fdInode(fd: number): number {
  const link = fs.readlinkSync(`/proc/self/fd/${fd}`);
  const m = /^socket:\[(\d+)\]$/.exec(link);
  assert.ok(m, link);
  return Number(m[1]);
}

function handleFd(s: net.Socket | net.Server): number {
  const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
  assert.ok(fd > 0);
  return fd;
}

test('real sockets of this process are found with their kernel inode (IPv4, IPv6, v4-mapped)', async (t) => {
  const hasV6 = Object.values(os.networkInterfaces()).some((l) => l?.some((a) => a.address === '::1'));
  const cases: Array<{ listen: string; connect: string; expectLocal: string }> = [
    { listen: '127.0.0.1', connect: '127.0.0.1', expectLocal: '127.0.0.1' },
  ];
  if (hasV6) {
    cases.push({ listen: '::1', connect: '::1', expectLocal: '::1' });
    cases.push({ listen: '::', connect: '127.0.0.1', expectLocal: '127.0.0.1' });
  } else {
    t.diagnostic('no ::1 here: IPv6 cases skipped');
  }
  for (const c of cases) {
    const server = net.createServer();
    const accepted = once(server, 'connection');
    server.listen(0, c.listen);
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, c.connect);
    await once(client, 'connect');
    const [peer] = (await accepted) as [net.Socket];
    try {
      const rows = readKernelTcpSockets();
      const clientRow = rows.find((r) => r.remotePort === port && r.localPort === client.localPort);
      const serverRow = rows.find((r) => r.localPort === port && r.remotePort === client.localPort);
      const listenRow = rows.find((r) => r.localPort === port && r.state === 10);
      assert.ok(clientRow && serverRow && listenRow, `rows for ${c.listen}`);
      assert.equal(KERNEL_TCP_STATES[clientRow.state], 'ESTABLISHED');
      assert.equal(clientRow.localAddr, c.expectLocal);
      assert.equal(serverRow.localAddr, c.expectLocal);
      assert.equal(clientRow.inode, fdInode(handleFd(client)));
      assert.equal(serverRow.inode, fdInode(handleFd(peer)));
      assert.equal(listenRow.inode, fdInode(handleFd(server)));
      if (c.listen === '::') assert.equal(serverRow.table, 'tcp6', 'accepted v4-mapped socket lives in tcp6');
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  }
});

// Python in a fresh namespace opens known sockets and reports each one's inode
// (fstat) and addresses; /proc/<pid>/net/tcp{,6} must show exactly those.
const HOLDER_PY = `
import socket, os, json, sys
out = []
def rec(s, tag):
    out.append(dict(tag=tag, inode=os.fstat(s.fileno()).st_ino, local=list(s.getsockname()[:2]), peer=list(s.getpeername()[:2])))
l4 = socket.socket(); l4.bind(('127.0.0.1', 7101)); l4.listen(8)
l6 = socket.socket(socket.AF_INET6); l6.bind(('::1', 7102)); l6.listen(8)
ld = socket.socket(socket.AF_INET6); ld.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); ld.bind(('::', 7103)); ld.listen(8)
keep = []
for lst, fam, host, port, tag in ((l4, socket.AF_INET, '127.0.0.1', 7101, 'v4'), (l6, socket.AF_INET6, '::1', 7102, 'v6'), (ld, socket.AF_INET, '127.0.0.1', 7103, 'mapped')):
    c = socket.socket(fam); c.connect((host, port)); a, _ = lst.accept()
    rec(c, tag + '-client'); rec(a, tag + '-server'); keep += [c, a]
# half-close one pair: client shuts down its sending side, the server never closes
c = socket.socket(); c.connect(('127.0.0.1', 7101)); a, _ = l4.accept()
c.shutdown(socket.SHUT_WR)
rec(c, 'cw-client'); rec(a, 'cw-server'); keep += [c, a]
print(json.dumps(dict(pid=os.getpid(), sockets=out)), flush=True)
sys.stdin.read()
`;

test('real /proc/<pid>/net/tcp{,6} content from a namespace where known sockets were opened', async (t) => {
  const why = netnsUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const ns = new Netns(`wse-e-pt${uniqueTag()}`);
  try {
    const py = ns.spawn('python3', ['-c', HOLDER_PY]);
    const line = await waitForLine(py, /^\{/);
    const { pid, sockets: known } = JSON.parse(line) as {
      pid: number;
      sockets: Array<{ tag: string; inode: number; local: [string, number]; peer: [string, number] }>;
    };
    // let the FIN of the half-closed pair be acked
    await new Promise((r) => setTimeout(r, 200));
    const rows = readKernelTcpSockets(`/proc/${pid}/net`);
    const ssOut = ns.exec('ss', ['-tanH']);
    for (const k of known) {
      const local = k.local[0].replace(/^::ffff:/, '');
      const peer = k.peer[0].replace(/^::ffff:/, '');
      const row = rows.find((r) => r.localAddr === local && r.localPort === k.local[1] && r.remoteAddr === peer && r.remotePort === k.peer[1]);
      assert.ok(row, `row for ${k.tag} ${local}:${k.local[1]}`);
      assert.equal(row.inode, k.inode, `inode of ${k.tag}`);
      if (k.tag.startsWith('mapped')) assert.equal(row.table, k.tag === 'mapped-server' ? 'tcp6' : 'tcp');
      const expectState = k.tag === 'cw-server' ? 'CLOSE_WAIT' : k.tag === 'cw-client' ? 'FIN_WAIT2' : 'ESTABLISHED';
      assert.equal(KERNEL_TCP_STATES[row.state], expectState, k.tag);
    }
    // Same socket count as ss shows for the namespace (ss lists every TCP socket, listeners included).
    const ssLines = ssOut.split('\n').filter((l) => l.trim() !== '');
    assert.equal(rows.length, ssLines.length, `ss shows:\n${ssOut}`);
    assert.equal(ssLines.filter((l) => l.startsWith('CLOSE-WAIT')).length, rows.filter((r) => r.state === 8).length);
    py.stdin?.end();
  } finally {
    ns.cleanup();
  }
});

test('heldOnly skips listening sockets and rows no file holds (inode 0)', () => {
  const all = parseProcNetTcp(TCP6_LE, 'tcp6', true);
  const held = parseProcNetTcp(TCP6_LE, 'tcp6', true, { heldOnly: true });
  assert.deepEqual(held, all.filter((r) => r.inode !== 0));
  assert.deepEqual(parseProcNetTcp(TCP_LE, 'tcp', true, { heldOnly: true }).map((r) => r.inode), [48213]);
});
