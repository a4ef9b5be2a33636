import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { fixture } from '../helpers/paths';
import { chromiumAvailable, launchChromium } from '../helpers/chromium';
import { runCli, tmpDir } from '../cli/run-cli';
import { tsharkAvailable, tsharkFrames } from '../decode/tshark-fields';
import type { Report } from '../../src/report/model';
import { flagText } from '../../src/report/html/ladder-svg';

const NGINX = fixture('nginx-keepalive-closewait.pcap');
const skip = !chromiumAvailable() ? 'needs Debian chromium (/usr/bin/chromium; .ci/run installs it)' : !tsharkAvailable() ? 'needs tshark' : false;

/** What the page shows, read back in the browser. */
interface PageFacts {
  scripts: number;
  counts: Record<string, number>;
  verdict: string;
  findings: { kind: string; severity: string; count: number | null; title: string }[];
  charts: { id: string; series: Record<string, number>; marks: { label: string }[] }[];
  ladders: { flowId: number; packets: { from: string; flags: string; len: number }[]; states: { endpoint: string; state: string }[]; gaps: number[]; notes: string[] }[];
}

/** The page's DOM, inside page.evaluate only (the project compiles without the DOM library). */
declare const document: any;
type El = { getAttribute(n: string): string | null; textContent: string | null; querySelector(s: string): El | null; querySelectorAll(s: string): Iterable<El> };

function readPage(): PageFacts {
  const doc = document as El & { scripts: { length: number } };
  const num = (s: string | null): number | null => (s === null ? null : Number(s));
  return {
    scripts: doc.scripts.length,
    counts: Object.fromEntries([...doc.querySelectorAll('[data-count]:not(section)')].map((e) => [e.getAttribute('data-count')!, Number(e.textContent)])),
    verdict: doc.querySelector('[data-verdict]')!.textContent!,
    findings: [...doc.querySelectorAll('section.finding')].map((s) => ({
      kind: s.getAttribute('data-kind')!,
      severity: s.getAttribute('data-severity')!,
      count: num(s.getAttribute('data-count')),
      title: s.querySelector('h3')!.textContent!.replace(/^\[\d+\]\s+\S+\s+/, ''),
    })),
    charts: [...doc.querySelectorAll('figure[data-chart]')].map((f) => ({
      id: f.getAttribute('data-chart')!,
      series: JSON.parse(f.getAttribute('data-series')!),
      // Data marks drawn by Vega (points and bars): each carries its description as aria-label.
      marks: [...f.querySelectorAll('g.role-mark [role="graphics-symbol"][aria-label]')]
        .filter((m) => m.getAttribute('aria-roledescription') !== 'line mark')
        .map((m) => ({ label: m.getAttribute('aria-label')! })),
    })),
    ladders: [...doc.querySelectorAll('figure[data-ladder]')].map((f) => ({
      flowId: Number(f.getAttribute('data-ladder')),
      packets: [...f.querySelectorAll('g.packet')].map((g) => ({ from: g.getAttribute('data-from')!, flags: g.getAttribute('data-flags')!, len: Number(g.getAttribute('data-len')) })),
      states: [...f.querySelectorAll('text.state')].map((t) => ({ endpoint: t.getAttribute('data-endpoint')!, state: t.getAttribute('data-state')! })),
      gaps: [...f.querySelectorAll('g.gap')].map((g) => Number(g.getAttribute('data-seconds'))),
      notes: [...f.querySelectorAll('.note')].map((n) => n.textContent!),
    })),
  };
}

test('HTML report of nginx-keepalive-closewait.pcap in a real Chromium: offline, charts and counts match the JSON report, one ladder arrow per packet', { skip }, async () => {
  const dir = tmpDir();
  const db = path.join(dir, 'r.db');
  const html = path.join(dir, 'report.html');
  const a = runCli(['analyze', '-q', '--db', db, NGINX, '--html', html]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stderr, '', 'rendering the charts prints no warning');
  assert.match(a.stdout, /^VERDICT/m, 'analyze still prints the text report');
  const j = runCli(['report', '--db', db, '--format', 'json']);
  assert.equal(j.code, 0, j.stderr);
  const report = JSON.parse(j.stdout) as Report;
  // report --format html -o writes the same page analyze --html wrote.
  const html2 = path.join(dir, 'report2.html');
  const r2 = runCli(['report', '--db', db, '--format', 'html', '-o', html2]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(r2.stdout, '', 'with -o nothing goes to stdout');
  assert.equal(fs.readFileSync(html2, 'utf8'), fs.readFileSync(html, 'utf8'));

  const b = await launchChromium();
  try {
    const page = await b.ctx.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const url = pathToFileURL(html).href;
    await page.goto(url, { waitUntil: 'load' });
    const facts = await page.evaluate(readPage);
    const shot = await page.screenshot({ fullPage: true });

    assert.deepEqual(requests, [url], 'the page loads nothing but itself');
    assert.deepEqual(problems, [], 'no console errors or warnings');
    assert.equal(facts.scripts, 0, 'the page runs no script');

    // The same numbers and findings as the JSON report.
    assert.equal(facts.verdict, report.summary.verdict);
    assert.equal(facts.counts.flows, report.summary.flows);
    assert.equal(facts.counts.closeWait, report.summary.closeWait);
    assert.equal(facts.counts.closeWait, 18);
    assert.equal(facts.counts.finWait2CloseWaitPairs, report.summary.finWait2CloseWaitPairs);
    for (const [k, n] of Object.entries(report.summary.byCloseKind)) assert.equal(facts.counts[`closeKind.${k}`], n, k);
    assert.deepEqual(
      facts.findings,
      report.findings.map((f) => ({ kind: f.kind, severity: f.severity, count: typeof f.facts.count === 'number' ? f.facts.count : null, title: f.title })),
    );

    // Each chart draws the marks it says it does, per series.
    for (const c of facts.charts) {
      for (const [series, n] of Object.entries(c.series)) {
        assert.equal(c.marks.filter((m) => m.label.startsWith(`${series};`)).length, n, `${c.id}: ${series}`);
      }
      assert.equal(c.marks.length, Object.values(c.series).reduce((x, y) => x + y, 0), `${c.id}: no marks of other series`);
    }
    const countOf = (label: string): number => Number(/count=(\d+)/.exec(label)![1]);
    // State timeline (drawn when the build has the store's timeline reader): its counts at capture end are the report's.
    const tl = facts.charts.find((c) => c.id === 'state-timeline');
    if (tl) {
      const lastOf = (state: string): number => {
        const m = tl.marks.filter((k) => k.label.startsWith(`${state};`));
        return countOf(m[m.length - 1].label);
      };
      assert.equal(lastOf('CLOSE_WAIT'), report.summary.closeWait);
      assert.equal(lastOf('FIN_WAIT_2'), report.summary.finWait2CloseWaitPairs);
      const tw = report.findings.filter((f) => f.kind === 'time_wait').reduce((n, f) => n + (f.facts.atEnd as number), 0);
      assert.equal(lastOf('TIME_WAIT'), tw);
      assert.ok(tl.marks.every((k) => Number(/t=([\d.]+) s/.exec(k.label)![1]) <= report.capture.durationS! + 1e-3), 'no point after capture end');
    } else {
      assert.equal(facts.charts.filter((c) => c.id === 'close-wait-per-service').length, 0);
    }
    // Idle before FIN: one histogram per closer; the server's 65 s keep-alive timer is one bar holding all 18 closes.
    const fps = report.findings.filter((f) => f.kind === 'closer_fingerprint');
    const idleCharts = facts.charts.filter((c) => c.id.startsWith('idle-before-fin-'));
    assert.equal(idleCharts.length, fps.length);
    for (const f of fps) {
      const fp = f.facts.idleBeforeFin as { closer: string; total: number };
      const ch = idleCharts.find((c) => Object.keys(c.series)[0] === fp.closer);
      assert.ok(ch, `a histogram for ${fp.closer}`);
      assert.equal(ch.marks.reduce((s, m) => s + countOf(m.label), 0), fp.total, `${fp.closer}: every close counted once`);
    }
    const server = idleCharts.find((c) => Object.keys(c.series)[0] === 'server 10.77.1.1:80')!;
    const tallest = server.marks.map((m) => m.label).sort((x, y) => countOf(y) - countOf(x))[0];
    assert.equal(countOf(tallest), 18);
    assert.match(tallest, /; 64\.5 s–65\.5 s;/);
    // Time in CLOSE_WAIT: the 18 stuck at capture end, plus the 2 passive closes that left it.
    const cw = facts.charts.find((c) => c.id === 'close-wait-durations')!;
    const stuck = cw.marks.filter((m) => m.label.startsWith('still in CLOSE_WAIT'));
    assert.equal(stuck.reduce((s, m) => s + countOf(m.label), 0), report.summary.closeWait);
    assert.equal(cw.marks.reduce((s, m) => s + countOf(m.label), 0), report.summary.flows, 'every flow of this capture had one endpoint in CLOSE_WAIT');

    // Ladders: one per finding with a sample flow; one arrow per packet of that flow, as tshark reads the file.
    const samples = report.findings.filter((f) => f.evidence.sample !== null);
    assert.equal(facts.ladders.length, samples.length);
    const frames = tsharkFrames(NGINX);
    for (const f of samples) {
      const s = f.evidence.sample!;
      const ladder = facts.ladders.find((l) => l.flowId === s.flowId)!;
      const [clientPort, serverPort] = [Number(s.orig.split(':').pop()), Number(s.resp.split(':').pop())];
      const mine = frames.filter((fr) => fr.tcp && ((fr.srcPort === clientPort && fr.dstPort === serverPort) || (fr.srcPort === serverPort && fr.dstPort === clientPort)));
      assert.ok(mine.length > 5);
      assert.deepEqual(
        ladder.packets,
        mine.map((fr) => ({
          from: fr.srcPort === clientPort ? 'orig' : 'resp',
          flags: flagText(fr.flags),
          len: fr.tcpLen,
        })),
      );
      assert.deepEqual(ladder.notes, []);
      // Each stored transition is written beside its side's line.
      assert.deepEqual(ladder.states, s.timeline.map((t) => ({ endpoint: t.endpoint, state: t.to })));
    }
    // The CLOSE_WAIT sample waits 65 s idle before the server's FIN: the gap is compressed and marked.
    const cwSample = facts.ladders.find((l) => l.flowId === report.findings[0].evidence.sample!.flowId)!;
    assert.equal(cwSample.gaps.length, 1);
    assert.ok(cwSample.gaps[0] > 64.9 && cwSample.gaps[0] < 65.1, String(cwSample.gaps[0]));

    // The screenshot is a picture, not a blank page.
    const png = PNG.sync.read(shot);
    const colors = new Set<number>();
    let ink = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, bl] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      colors.add((r << 16) | (g << 8) | bl);
      if (r + g + bl < 600) ink++;
    }
    assert.ok(colors.size > 100, `${colors.size} distinct colours`);
    assert.ok(ink / (png.width * png.height) > 0.02, `${ink} dark pixels of ${png.width * png.height}`);
  } finally {
    await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The nginx capture ingested from a copy in a temporary folder, so that the test can take the file away or change it. */
function ingestCopy(): { dir: string; copy: string; db: string } {
  const dir = tmpDir();
  const copy = path.join(dir, 'capture.pcap');
  fs.copyFileSync(NGINX, copy);
  const db = path.join(dir, 'r.db');
  assert.equal(runCli(['ingest', '-q', '--db', db, copy]).code, 0);
  return { dir, copy, db };
}

function htmlOf(db: string, dir: string): string {
  const out = path.join(dir, 'r.html');
  const r = runCli(['report', '--db', db, '--format', 'html', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  return fs.readFileSync(out, 'utf8');
}

test('HTML report when the capture file is gone: the ladder comes from the stored transitions, with a note', () => {
  const { dir, copy, db } = ingestCopy();
  fs.rmSync(copy);
  const page = htmlOf(db, dir);
  const report = JSON.parse(runCli(['report', '--db', db, '--format', 'json']).stdout) as Report;
  const sample = report.findings[0].evidence.sample!;
  const ladder = new RegExp(`<figure data-ladder="${sample.flowId}">(.*?)</figure>`, 's').exec(page)![1];
  assert.match(ladder, /Packets not shown: .*capture\.pcap is not there any more/);
  assert.equal((ladder.match(/<g class="packet/g) ?? []).length, 0);
  assert.equal((ladder.match(/<text class="state"/g) ?? []).length, sample.timeline.length);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('HTML report when the capture file changed since ingest: its packets are not used', () => {
  const { dir, copy, db } = ingestCopy();
  // Same size, one byte different inside a packet: only the sha256 tells.
  const buf = fs.readFileSync(copy);
  buf[buf.length - 1] ^= 0xff;
  fs.writeFileSync(copy, buf);
  const page = htmlOf(db, dir);
  assert.match(page, /Packets not shown: .*capture\.pcap changed since it was ingested \(sha256 differs\)/);
  assert.equal((page.match(/<g class="packet/g) ?? []).length, 0);
  fs.rmSync(dir, { recursive: true, force: true });
});
