import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { generateTraffic } from '../../bench/generate-traffic';
import { runCli, tmpDir } from '../cli/run-cli';
import type { Finding, Report } from '../../src/report/report-types';
import { SEVERITY_RANK } from '../../src/report/thresholds';

// Many groups of one kind (the benchmark's generated traffic: two dozen pooled clients leaking CLOSE_WAIT into one
// nginx-like backend, refusals and resets at several services): within a kind the report lists the most severe and
// then the largest group first, so the group the verdict names is the first finding of its kind.

const size = (f: Finding): number => f.evidence.flowIds.length + f.evidence.moreFlows;

test('within a kind, findings run from the most severe and largest group down; the verdict names the largest CLOSE_WAIT group first of its kind', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'g.pcap');
  generateTraffic({ out: file, connections: 4000, seed: 7 });
  for (const all of [false, true]) {
    const r = runCli(['analyze', file, '--db', path.join(dir, `w${all ? 'a' : ''}.db`), '-q', '--format', 'json', ...(all ? ['--all'] : [])]);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    const kinds = new Map<string, Finding[]>();
    for (const f of rep.findings) kinds.set(f.kind, [...(kinds.get(f.kind) ?? []), f]);
    const cw = kinds.get('close_wait') ?? [];
    assert.ok(cw.length >= 5, `${cw.length} CLOSE_WAIT groups`);
    assert.ok(new Set(cw.map(size)).size > 1, 'groups of different sizes');
    for (const [kind, list] of kinds) {
      for (let i = 1; i < list.length; i++) {
        const a = list[i - 1];
        const b = list[i];
        const bySeverity = SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
        assert.ok(bySeverity > 0 || (bySeverity === 0 && size(a) >= size(b)), `${kind} #${i}: ${a.severity} ${size(a)} before ${b.severity} ${size(b)}`);
      }
    }
    // Two dozen pooled clients of one backend: the verdict tells them as one story and names the largest, the first finding.
    assert.match(rep.summary.verdict, /^\d+ clients of server 10\.1\.1\.10:8080 \(nginx\) leak connections to it: /);
    assert.ok(rep.summary.verdict.includes(`The most in one client: ${cw[0].facts.stuckHost as string}, ${cw[0].facts.count as number}.`), `${rep.summary.verdict} / ${cw[0].title}`);
  }
});
