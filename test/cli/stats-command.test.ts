import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cliPath, fixture } from '../helpers/paths';
import { pcapRecordOffsets } from '../source/pcap-walk';
import { epochToUs, tsharkAvailable, tsharkFrames } from '../decode/tshark-fields';

function run(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', input, maxBuffer: 16 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = fixture('formats');
const names = readdirSync(dir)
  .filter((f) => /\.(pcap|pcapng|gz)$/.test(f))
  .sort();
const files = names.map((n) => path.join(dir, n));

const capinfos = spawnSync('capinfos', ['-v'], { encoding: 'utf8' });
const haveCapinfos = capinfos.status === 0;

interface StatsJson {
  file: string;
  packets: number;
  tcpPackets: number;
  firstTsUs: number | null;
  lastTsUs: number | null;
  firstTs: string | null;
  format: string;
  gzip: boolean;
  damage: { code: string; fatal: boolean; message: string } | null;
  anomalies: Record<string, number>;
  error?: { code: string; message: string };
}

test(
  'stats --json agrees with capinfos (packets, first/last time) and tshark (TCP packets) on every fixture',
  { skip: haveCapinfos && tsharkAvailable() ? false : 'capinfos/tshark (Debian wireshark-common, tshark) are not installed: nothing independent to compare with' },
  () => {
    const r = run(['stats', '--json', ...files]);
    assert.equal(r.status, 0, r.stderr);
    const ours = JSON.parse(r.stdout) as StatsJson[];
    assert.equal(ours.length, files.length);
    const ci = spawnSync('capinfos', ['-T', '-r', '-c', '-a', '-e', '-S', ...files], { encoding: 'utf8' });
    assert.equal(ci.status, 0, ci.stderr);
    const rows = ci.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, files.length);
    for (let i = 0; i < files.length; i++) {
      const [file, packets, start, end] = rows[i];
      const s = ours[i];
      assert.equal(s.file, file);
      assert.equal(s.packets, Number(packets), `${names[i]}: packets`);
      const frames = tsharkFrames(file);
      let first: number;
      let last: number;
      if (start === 'n/a') {
        // capinfos gives no times for some multi-section files: take tshark's earliest/latest frame.
        const ts = frames.map((fr) => fr.tsUs).filter((t): t is number => t !== null);
        first = Math.min(...ts);
        last = Math.max(...ts);
      } else {
        first = epochToUs(start);
        last = epochToUs(end);
      }
      assert.equal(s.firstTsUs, first, `${names[i]}: first packet time`);
      assert.equal(s.lastTsUs, last, `${names[i]}: last packet time`);
      const tcp = frames.filter((fr) => fr.tcp).length;
      assert.equal(s.tcpPackets, tcp, `${names[i]}: TCP packets`);
    }
  },
);

test('text output names format, link types, counts and µs UTC timestamps laid out as capinfos prints them', () => {
  const r = run(['stats', fixture('formats', 'eth-ipv4.pcap.gz'), fixture('formats', 'sll2-any.pcap')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const blocks = r.stdout.split('\n\n');
  assert.equal(blocks.length, 2);
  assert.match(blocks[0], /^Format: +pcap \(gzip\)$/m);
  assert.match(blocks[0], /^Byte order: +little-endian$/m);
  assert.match(blocks[0], /^Timestamp precision: +microseconds \(10\^-6\)$/m);
  assert.match(blocks[0], /^Link types: +1 \(ETHERNET\)$/m);
  const n = pcapRecordOffsets(readFileSync(fixture('formats', 'eth-ipv4.pcap'))).length;
  assert.match(blocks[0], new RegExp(`^Packets: +${n}$`, 'm'));
  // Same layout as capinfos ("2026-11-27 05:19:15.926306") and the report's "... UTC" times, not ISO's T/Z.
  assert.match(blocks[0], /^First packet: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} UTC$/m);
  if (haveCapinfos) {
    const ci = spawnSync('capinfos', ['-a', '-e', fixture('formats', 'eth-ipv4.pcap')], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    const first = /First packet time:\s+(\S+ \S+)/.exec(ci.stdout)![1];
    const last = /Last packet time:\s+(\S+ \S+)/.exec(ci.stdout)![1];
    assert.match(blocks[0], new RegExp(`^First packet: +${first.replace(/\./g, '\\.')} UTC$`, 'm'));
    assert.match(blocks[0], new RegExp(`^Last packet: +${last.replace(/\./g, '\\.')} UTC$`, 'm'));
  }
  assert.match(blocks[0], /^Damage: +none$/m);
  assert.match(blocks[1], /^Link types: +276 \(LINUX_SLL2\)$/m);
});

const work = mkdtempSync(path.join(tmpdir(), 'wsa-stats-'));

test('a capture cut short: warning on stderr, exit 0; earlier packets counted', () => {
  const buf = readFileSync(fixture('formats', 'eth-ipv4.pcap'));
  const cut = path.join(work, 'killed.pcap');
  writeFileSync(cut, buf.subarray(0, buf.length - 7));
  const r = run(['stats', '--json', cut]);
  assert.equal(r.status, 0);
  const [s] = JSON.parse(r.stdout) as StatsJson[];
  assert.equal(s.packets, pcapRecordOffsets(buf).length - 1);
  assert.equal(s.damage?.code, 'truncated_record');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`^wirestate: warning: ${cut.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .* at byte \\d+$`));
});

test('unusable and fatally damaged files: one line each on stderr, other files still reported, exit 1', () => {
  const text = path.join(work, 'notes.txt');
  writeFileSync(text, 'this is not a capture\n');
  const buf = Buffer.from(readFileSync(fixture('formats', 'eth-ipv4.pcap')));
  buf.writeUInt32LE(0x7fffffff, 24 + 8); // first record's caplen
  const broken = path.join(work, 'broken.pcap');
  writeFileSync(broken, buf);
  const good = fixture('formats', 'sll-any.pcap');
  const r = run(['stats', text, broken, good]);
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines, [
    `wirestate: ${text}: not a pcap or pcapng file (starts with "this is ") at byte 0`,
    `wirestate: error: ${broken}: record captured length 2147483647 is larger than 262144: framing broken at byte 24`,
  ]);
  assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  assert.match(r.stdout, /^Packets: +0$/m);
  assert.match(r.stdout, /^Damage: +FATAL bad_caplen/m);
  assert.match(r.stdout, new RegExp(`^File: +${good.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
  const j = run(['stats', '--json', text, good]);
  assert.equal(j.status, 1);
  const arr = JSON.parse(j.stdout) as StatsJson[];
  assert.equal(arr[0].error?.code, 'not_a_capture');
  assert.equal(arr[1].packets, pcapRecordOffsets(readFileSync(good)).length);
});

test('unsupported link type and malformed headers: exit 0, one warning line each naming file and offset', () => {
  const buf = Buffer.from(readFileSync(fixture('formats', 'eth-ipv4.pcap')));
  // first IPv4 TCP packet with a plain 20-byte header: IHL 4
  let at = 24;
  while (!(buf.readUInt16BE(at + 16 + 12) === 0x0800 && buf[at + 16 + 14] === 0x45 && buf[at + 16 + 23] === 6)) at += 16 + buf.readUInt32LE(at + 8);
  buf[at + 16 + 14] = 0x44;
  const ihl = path.join(work, 'ihl.pcap');
  writeFileSync(ihl, buf);
  const unknown = fixture('formats', 'unknown-linktype.pcap');
  const n = pcapRecordOffsets(readFileSync(unknown)).length;
  const r = run(['stats', '--json', ihl, unknown]);
  assert.equal(r.status, 0);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `wirestate: warning: ${ihl}: 1 packet with bad_ip_header_length, first at byte ${at}`,
    `wirestate: warning: ${unknown}: ${n} packets of unsupported link type 147 (USER0) skipped, first at byte 24`,
  ]);
  const [a, b] = JSON.parse(r.stdout) as StatsJson[];
  assert.deepEqual(a.anomalies, { bad_ip_header_length: 1 });
  assert.deepEqual(b.anomalies, { unknown_linktype: n });
});

test("'-' reads the capture from standard input", () => {
  const r = run(['stats', '--json', '-'], readFileSync(fixture('formats', 'eth-ipv6-ns-gzipped.pcapng')));
  assert.equal(r.status, 0, r.stderr);
  const [s] = JSON.parse(r.stdout) as StatsJson[];
  assert.equal(s.file, '-');
  assert.equal(s.format, 'pcapng');
  assert.equal(s.gzip, true);
  assert.equal(s.packets, pcapRecordOffsets(readFileSync(fixture('formats', 'eth-ipv6-ns.pcap'))).length);
});
