import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowStore } from '../../src/store/flow-store';
import { GET, HttpWire, OK } from '../app/http-wire';

test('HTTP facts are written beside the flow in the same transaction: http_flows and one http_exchanges row per exchange', () => {
  const w = new HttpWire().handshake(0);
  w.send('c', GET('/a'), { atMs: 10 }).send('s', OK('hello'), { atMs: 12 });
  w.send('c', `POST /b HTTP/1.1\r\nHost: api.example\r\nContent-Length: 3\r\n\r\nabc`, { atMs: 1500 });
  w.send('s', 'HTTP/1.1 201 Created\r\nKeep-Alive: timeout=5, max=99\r\nContent-Length: 0\r\n\r\n', { atMs: 1501 });
  const rec = w.only();
  const store = FlowStore.open(':memory:');
  try {
    const cap = store.beginCapture({ source: 't', kind: 'file' });
    store.writeFlows(cap, [rec]);
    const id = (store.db.prepare('SELECT id FROM flows').get() as { id: number }).id;
    const h = store.db.prepare('SELECT * FROM http_flows WHERE flow_id = ?').get(id) as Record<string, unknown>;
    assert.equal(h.protocol, 'http');
    assert.equal(h.requests, 2);
    assert.equal(h.responses, 2);
    assert.equal(h.user_agent, 'test-agent/1.0');
    assert.equal(h.server, 'test-server/2.1');
    assert.equal(h.host, 'api.example');
    assert.equal(h.keepalive_timeout, 5);
    assert.equal(h.keepalive_max, 99);
    assert.equal(h.close_kind, null);
    assert.ok(Math.abs((h.longest_reuse_idle as number) - 1.488) < 1e-9);
    const x = store.db.prepare('SELECT * FROM http_exchanges WHERE flow_id = ? ORDER BY seq').all(id) as Record<string, unknown>[];
    assert.equal(x.length, 2);
    assert.deepEqual(
      x.map((r) => [r.method, r.status, r.request_body_bytes, r.response_body_bytes]),
      [
        ['GET', 200, 0, 5],
        ['POST', 201, 3, 0],
      ],
    );
    const t0 = rec.http!.exchanges[1].requestTsUs! / 1e6;
    assert.ok(Math.abs((x[1].request_ts as number) - t0) < 1e-6, 'exchange times are Unix seconds');
    // Written again (a live upsert): the row is replaced, not duplicated.
    store.writeFlows(cap, [rec]);
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM http_flows').get() as { n: number }).n, 1);
    // Deleting the capture removes the facts with the flow.
    store.db.prepare('DELETE FROM captures WHERE id = ?').run(cap);
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM http_flows').get() as { n: number }).n, 0);
  } finally {
    store.close();
  }
});
