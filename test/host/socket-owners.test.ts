import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../src/tcp/flow-record';
import { SocketOwnerResolver } from '../../src/host/socket-owners';
import { readKernelTcpSockets, type KernelTcpSocket } from '../../src/host/proc-net-tcp';
import { Netns, netnsUnavailable, uniqueTag, waitForLine } from './netns';

/** Only the fields the resolver reads; the rest of a FlowRecord does not matter to it. */
function flow(origH: string, origP: number, respH: string, respP: number): FlowRecord {
  return { uid: 1, ipVersion: origH.includes(':') ? 6 : 4, origH, origP, respH, respP } as FlowRecord;
}

// A process named by prctl(PR_SET_NAME) that listens or connects and holds its sockets until stdin closes.
const NAMED_PY = `
import ctypes, socket, sys, os, json
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
mode, host, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
keep = []
if mode == 'server':
    l = socket.socket(fam); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind((host, port)); l.listen(8)
    print(json.dumps(dict(pid=os.getpid())), flush=True)
    while True:
        a, _ = l.accept(); keep.append(a)
        print(json.dumps(dict(accepted=a.getpeername()[1])), flush=True)
else:
    for i in range(int(sys.argv[5])):
        c = socket.socket(fam); c.connect((host, port)); keep.append(c)
    print(json.dumps(dict(pid=os.getpid(), ports=[c.getsockname()[1] for c in keep])), flush=True)
    sys.stdin.read()
`;

test('resolver names the process holding each end of a flow, in the namespace the sockets live in', async (t) => {
  const why = netnsUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const ns = new Netns(`wse-e-so${uniqueTag()}`);
  try {
    for (const host of ['127.0.0.1', '::1']) {
      const port = host === '::1' ? 7202 : 7201;
      const srv = ns.spawn('python3', ['-c', NAMED_PY, 'wse-srv', 'server', host, String(port)]);
      const srvPid = (JSON.parse(await waitForLine(srv, /"pid"/)) as { pid: number }).pid;
      let srvOut = '';
      srv.stdout?.on('data', (b: Buffer) => (srvOut += b.toString()));
      const cli = ns.spawn('python3', ['-c', NAMED_PY, 'wse-cli', 'client', host, String(port), '3']);
      const { pid: cliPid, ports } = JSON.parse(await waitForLine(cli, /"ports"/)) as { pid: number; ports: number[] };
      assert.equal(ports.length, 3);
      // A connection still in the accept queue has no file (inode 0) until accept(): wait for all three.
      const deadline = Date.now() + 5000;
      while ((srvOut.match(/accepted/g) ?? []).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

      const resolver = new SocketOwnerResolver({ netDir: `/proc/${srvPid}/net`, retainRefreshes: 2 });
      resolver.refresh();
      for (const p of ports) {
        const owners = resolver.ownersOf(flow(host, p, host, port));
        assert.deepEqual(
          owners.sort((a, b) => a.endpoint.localeCompare(b.endpoint)),
          [
            { endpoint: 'orig', pid: cliPid, command: 'wse-cli' },
            { endpoint: 'resp', pid: srvPid, command: 'wse-srv' },
          ],
          `owners of ${host} ${p} -> ${port}`,
        );
        // The same flow seen with roles swapped gets the swapped endpoints.
        const swapped = resolver.ownersOf(flow(host, port, host, p));
        assert.deepEqual(swapped.map((o) => `${o.endpoint}:${o.command}`).sort(), ['orig:wse-srv', 'resp:wse-cli']);
      }
      // A flow between addresses that are not local has no owner.
      assert.deepEqual(resolver.ownersOf(flow('10.79.9.9', 1234, '10.79.9.8', port)), []);

      // attach() sets owners on the flows that have them and counts them.
      const flows = [flow(host, ports[0], host, port), flow('10.79.9.9', 1, '10.79.9.8', 2)];
      assert.equal(resolver.attach(flows), 1);
      assert.equal(flows[0].owners?.length, 2);
      assert.equal(flows[1].owners, undefined);

      // The client exits: its sockets are gone from the table (orphaned FIN_WAIT, inode 0), but the
      // flow is still attributed for `retainRefreshes` refreshes, then only the server remains.
      cli.kill('SIGKILL');
      await new Promise((r) => cli.once('exit', r));
      await new Promise((r) => setTimeout(r, 100));
      const f = flow(host, ports[1], host, port);
      resolver.refresh();
      assert.deepEqual(resolver.ownersOf(f).map((o) => o.command).sort(), ['wse-cli', 'wse-srv'], 'remembered after close');
      resolver.refresh();
      resolver.refresh();
      assert.deepEqual(resolver.ownersOf(f).map((o) => o.command), ['wse-srv'], 'forgotten after retainRefreshes');
      srv.kill('SIGKILL');
    }
  } finally {
    ns.cleanup();
  }
});

test('no /proc walk while nothing new appears; a closed socket is remembered for retainRefreshes', () => {
  // Table content is injected so that a new socket appears under the test's control; the fd walk
  // is real and looks for an inode no process holds.
  let rows: KernelTcpSocket[] = readKernelTcpSockets();
  const resolver = new SocketOwnerResolver({ readSockets: () => rows, retainRefreshes: 2, fullScanEvery: 1000 });
  resolver.refresh();
  const scansAfterFirst = resolver.scans;
  resolver.refresh();
  resolver.refresh();
  assert.equal(resolver.scans, scansAfterFirst, 'unchanged tables: no new walk of /proc/*/fd');
  rows = [
    ...rows,
    { ipVersion: 4, table: 'tcp', localAddr: '10.79.9.1', localPort: 1, remoteAddr: '10.79.9.2', remotePort: 2, state: 1, inode: 2 ** 31 + 12345, uid: 0 },
  ];
  resolver.refresh();
  assert.equal(resolver.scans, scansAfterFirst + 1, 'a new inode triggers one walk');
  resolver.refresh();
  assert.equal(resolver.scans, scansAfterFirst + 1, 'an inode nobody holds is not looked for again');
});
