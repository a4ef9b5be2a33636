import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fixture } from '../helpers/paths';
import { readPcap, tcpOf } from '../cli/pcap-edit';
import { runCli, tmpDir, truth } from '../cli/run-cli';
import type { Finding, Report } from '../../src/report/report-types';

// The nginx keep-alive capture as if tcpdump had started late: no SYN or
// SYN-ACK, the service moved to port 50051 and the client's ports to 33xxx.
// Both ports are then ephemeral-looking and the engine's port guess takes the
// lower one (the client's) as the server. The report must still find the
// pooled client by fan-in: 10.77.1.1:50051 is in every connection.
function lateCapture(dir: string, serverPort: number): string {
  const p = readPcap(fixture('nginx-keepalive-closewait.pcap'));
  const parts: Buffer[] = [p.header];
  for (let i = 0; i < p.records.length; i++) {
    const r = p.records[i];
    const t = tcpOf(p, i);
    if (t && t.flags & 0x02) continue;
    const rec = Buffer.from(p.buf.subarray(r.off, r.off + r.len));
    if (t) {
      const ip = 16 + 14;
      const tcp = ip + (rec[ip] & 0x0f) * 4;
      for (const o of [tcp, tcp + 2]) {
        const v = rec.readUInt16BE(o);
        rec.writeUInt16BE(v === serverPort ? 50051 : 33000 + (v % 1000), o);
      }
    }
    parts.push(rec);
  }
  const file = path.join(dir, 'late.pcap');
  fs.writeFileSync(file, Buffer.concat(parts));
  return file;
}

test('mid-stream pickup with high ports: the pooled client is found by fan-in, not the port guess', () => {
  const t = truth('nginx-keepalive-closewait');
  const stuck = t.flows.filter((f) => f.clientState === 'CLOSE_WAIT').length;
  const dir = tmpDir();
  const file = lateCapture(dir, t.serverPort);
  const db = path.join(dir, 'w.db');
  const r = runCli(['analyze', file, '--db', db, '-q', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.equal(rep.summary.midstreamFlows, t.flows.length);
  assert.equal(rep.summary.midstreamRolesInferred, t.flows.length);

  // The engine's stored roles are its own (Zeek-style port guess); the report does not rely on them.
  const d = new Database(db, { readonly: true });
  const guessedBackwards = (d.prepare("SELECT count(*) AS n FROM flows WHERE midstream = 1 AND orig_h = ? AND orig_p = 50051").get(t.server) as { n: number }).n;
  d.close();

  const cw = rep.findings.filter((f) => f.kind === 'close_wait');
  assert.equal(cw.length, 1, cw.map((f) => f.title).join('\n'));
  const f = cw[0];
  assert.equal(f.title.startsWith(`client ${t.client} leaks connections to ${t.server}:50051: ${stuck} in CLOSE_WAIT`), true, f.title);
  assert.equal(f.facts.stuckRole, 'client');
  assert.equal(f.facts.stuckHost, t.client);
  assert.equal(f.facts.peerHost, t.server);
  assert.equal(f.facts.peerPort, 50051);
  assert.equal(f.facts.count, stuck);
  assert.equal(f.facts.rolesInferred, stuck);
  assert.match(f.implication, /connection pool/);
  assert.doesNotMatch(f.implication, /server's code/);
  const fp = f.facts.idleBeforeFin as { medianS: number; matching: number; timer: boolean; closer: string };
  assert.equal(fp.timer, true);
  assert.equal(fp.closer, `server ${t.server}:50051`);
  assert.ok(Math.abs(fp.medianS - 65) < 1, String(fp.medianS));
  assert.equal(fp.matching, stuck);
  assert.ok(f.details.some((x) => /inferred: the capture started after all \d+ were opened, so no handshake was captured/.test(x)), f.details.join(' | '));
  assert.match(rep.summary.verdict, new RegExp(`^client ${t.client.replace(/\./g, '\\.')} leaks connections to ${t.server.replace(/\./g, '\\.')}:50051: ${stuck} in`));

  // The closer fingerprint is one finding for the service, not one per client port.
  const fps = rep.findings.filter((x: Finding) => x.kind === 'closer_fingerprint');
  const srv = fps.filter((x) => (x.facts as { role: string }).role === 'server');
  assert.equal(srv.length, 1, fps.map((x) => x.title).join('\n'));
  assert.match(srv[0].title, /^server 10\.77\.1\.1:50051 closes after 6[45]\.\d s idle in 18 of 18 cases/);
  // The client's own normal closes: TIME_WAIT on the client, not on "servers" at its ports.
  const tw = rep.findings.filter((x) => x.kind === 'time_wait');
  assert.deepEqual(tw.map((x) => x.title.split(':')[0]), [`TIME_WAIT on the client ${t.client} (to ${t.server}`]);

  // The sample names the server as such in its timeline, whatever the stored orig is.
  const s = f.evidence.sample!;
  assert.equal(s.midstream, true);
  assert.equal(s.rolesInferred, true);
  assert.equal(s.rolesSwapped, guessedBackwards > 0);
  const text = runCli(['report', '--db', db]).stdout;
  assert.match(text, /client and server inferred from fan-in/);
  assert.match(text, /10\.77\.1\.1:50051\s+is the server\)|10\.77\.1\.1:50051 is\s+the server\)/);
  assert.match(text, /server ESTABLISHED -> FIN_WAIT_1: sent FIN/);
  assert.match(text, /client ESTABLISHED -> CLOSE_WAIT: recv FIN/);
  for (const l of text.split('\n')) assert.ok(l.length <= 80, l);
});
