import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fixture } from '../helpers/paths';
import { runCli, tmpDir } from './run-cli';
import type { FlowsRow } from '../../src/store/flows-row';

/**
 * `flows --format zeek` read back by a third-party Zeek log reader: bro-cut
 * (Debian bro-aux, the predecessor of zeek-cut; it finds columns by the
 * #fields line and converts `time` columns found by the #types line), and
 * the Community IDs checked against tshark's own Community ID dissector.
 */
function ingested(...names: string[]): string {
  const db = path.join(tmpDir(), 'z.db');
  for (const n of names) {
    const r = runCli(['ingest', fixture(`${n}.pcap`), '--db', db, '-q']);
    assert.equal(r.code, 0, r.stderr);
  }
  return db;
}

function broCut(input: string, args: string[]): string[][] {
  const r = spawnSync('bro-cut', args, { input, encoding: 'utf8' });
  assert.equal(r.status, 0, `bro-cut: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

type Row = Pick<FlowsRow, 'id' | 'capture_id' | 'first_ts' | 'orig_h' | 'orig_p' | 'resp_h' | 'resp_p' | 'conn_state' | 'history' | 'missed_bytes' | 'orig_pkts' | 'resp_ip_bytes' | 'duration' | 'orig_bytes' | 'community_id'>;

function rows(db: string): Row[] {
  const h = new Database(db, { readonly: true });
  try {
    return h.prepare('SELECT * FROM flows ORDER BY capture_id, first_ts, id').all() as Row[];
  } finally {
    h.close();
  }
}

test('flows --format zeek: a conn.log that bro-cut reads, field by field the database\'s flows', () => {
  const db = ingested('nginx-keepalive-closewait', 'ipv6-nginx-keepalive-closewait', 'connection-refused');
  const r = runCli(['flows', '--db', db, '--format', 'zeek']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], '#separator \\x09');
  assert.deepEqual(lines.slice(1, 5), ['#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn']);
  assert.match(lines[5], /^#open\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/);
  assert.equal(
    lines[6],
    '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tcommunity_id',
  );
  assert.match(lines[7], /^#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount/);
  assert.match(lines[lines.length - 2], /^#close\t\d{4}-/);
  const want = rows(db);
  assert.ok(want.length > 20, `${want.length} flows`);
  // Every row ingested, in every format's order; -n: no #fields header in bro-cut's own output.
  const got = broCut(r.stdout, ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'conn_state', 'history', 'missed_bytes', 'orig_pkts', 'resp_ip_bytes', 'duration', 'orig_bytes', 'community_id', 'service']);
  assert.equal(got.length, want.length);
  want.forEach((w, i) => {
    const g = got[i];
    assert.equal(Number(g[0]), Math.round(w.first_ts * 1e6) / 1e6, 'ts');
    assert.equal(g[1], `C${w.capture_id}w${w.id}`);
    assert.deepEqual(g.slice(2, 6), [w.orig_h, String(w.orig_p), w.resp_h, String(w.resp_p)]);
    assert.deepEqual(g.slice(6, 12), ['tcp', w.conn_state, w.history, String(w.missed_bytes), String(w.orig_pkts), String(w.resp_ip_bytes)]);
    if (w.duration > 0) assert.deepEqual([Number(g[12]), Number(g[13])], [Math.round(w.duration * 1e6) / 1e6, w.orig_bytes]);
    else assert.deepEqual(g.slice(12, 14), ['-', '-'], 'unset for a zero-duration connection, as Zeek');
    assert.equal(g[14], w.community_id);
    assert.equal(g[15], '-', 'service unknown: unset');
  });
  assert.ok(want.some((w) => w.orig_h.includes(':')), 'IPv6 flows in the log');
  assert.ok(want.some((w) => w.conn_state === 'REJ'));
  // bro-cut -d converts the ts column because #types calls it a time.
  const dated = broCut(r.stdout, ['-d', 'ts']);
  assert.equal(dated[0][0], new Date(Math.floor(want[0].first_ts) * 1000).toISOString().replace(/\.000Z$/, '+0000'));
  // Filters and --limit as for the other formats.
  const one = runCli(['flows', '--db', db, '--format', 'zeek', '--state', 'CLOSE_WAIT', '--limit', '1']);
  assert.equal(broCut(one.stdout, ['conn_state']).length, 1);
});

test('flows --format zeek-json: Zeek\'s JSON field names, unset fields left out, the same values as the TSV', () => {
  const db = ingested('nginx-keepalive-closewait', 'connection-refused');
  const tsv = runCli(['flows', '--db', db, '--format', 'zeek']).stdout;
  const fields = (tsv.split('\n').find((l) => l.startsWith('#fields\t')) as string).split('\t').slice(1);
  const table = tsv.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split('\t'));
  const r = runCli(['flows', '--db', db, '--format', 'zeek-json']);
  assert.equal(r.code, 0, r.stderr);
  const objs = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(objs.length, table.length);
  objs.forEach((o, i) => {
    for (const k of Object.keys(o)) assert.ok(fields.includes(k), `${k} is a conn.log field`);
    fields.forEach((f, j) => {
      const cell = table[i][j];
      if (cell === '-') assert.equal(o[f], undefined, `${f} unset`);
      else if (typeof o[f] === 'number') assert.equal(o[f], Number(cell), f);
      else assert.equal(o[f], cell, f);
    });
    assert.equal(typeof o['id.orig_p'], 'number');
    assert.match(String(o.community_id), /^1:[A-Za-z0-9+/]{27}=$/);
  });
});

test('community_id of every flow equals tshark\'s Community ID of its packets (IPv4 and IPv6)', () => {
  for (const name of ['nginx-keepalive-closewait', 'ipv6-nginx-keepalive-closewait']) {
    const db = ingested(name);
    const r = spawnSync('tshark', ['-r', fixture(`${name}.pcap`), '--enable-protocol', 'communityid', '-Y', 'tcp', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'communityid'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const byPorts = new Map<string, string>();
    for (const l of r.stdout.split('\n')) {
      const [a, b, id] = l.split('\t');
      if (id) byPorts.set([a, b].sort().join('/'), id);
    }
    const flows = rows(db);
    assert.ok(flows.length > 5);
    for (const f of flows) assert.equal(f.community_id, byPorts.get([String(f.orig_p), String(f.resp_p)].sort().join('/')), `${name} ${f.orig_p}`);
  }
});
