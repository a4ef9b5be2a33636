import { formatDuration } from './format-time';
import { captureLines, closeWaitLine, evidenceFlows, noFindingsLine, omittedLine, sampleRolesNote, thresholdsLine } from './report-sentences';
import type { Finding, Report, SampleFlow } from './model';
import { wrap } from './text-wrap';

const WIDTH = 80;

/** Quote an argument for a POSIX shell only when it needs it. */
function shellArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that lists this finding's flows, for the reader to type next
 * (`flows` with the matching filter; the database and capture when they are
 * not the defaults). Null when no filter would select these flows.
 */
export function nextCommand(f: Finding, r: Report): string[] | null {
  const facts = f.facts as Record<string, unknown>;
  const args: string[] = [];
  const port = (svc: unknown): string | null => {
    const m = typeof svc === 'string' ? /:(\d+)$/.exec(svc) : null;
    return m ? m[1] : null;
  };
  switch (f.kind) {
    case 'close_wait':
      args.push('--state', 'CLOSE_WAIT', '--host', String(facts.stuckHost));
      if (facts.stuckPort !== null && facts.stuckPort !== undefined) args.push('--port', String(facts.stuckPort));
      else if (facts.peerPort !== null && facts.peerPort !== undefined) args.push('--port', String(facts.peerPort));
      break;
    case 'reset_after_half_close':
      args.push('--close-kind', f.kind, '--host', String(facts.serviceHost), '--port', String(facts.servicePort));
      break;
    case 'keepalive_race': {
      // One client and one server: the pair the finding is about.
      const h = String(facts.serverHost);
      args.push('--close-kind', f.kind, '--client', String(facts.clientHost), '--server', `${h.includes(':') ? `[${h}]` : h}:${String(facts.serverPort)}`);
      break;
    }
    case 'fin_unacked':
    case 'last_ack_unacked':
    case 'refused':
    case 'no_reply':
    case 'reset': {
      args.push('--close-kind', f.kind);
      const p = port(facts.service);
      if (p) args.push('--port', p);
      break;
    }
    case 'time_wait':
      args.push('--state', 'TIME_WAIT');
      if (facts.port !== null && facts.port !== undefined) args.push('--port', String(facts.port));
      break;
    default:
      return null;
  }
  if (r.database && r.database !== 'wirestate.db') args.unshift('--db', r.database);
  if (r.captures > 1) args.push('--capture', String(r.capture.id));
  // Each option with its value, so a line break never separates them.
  const parts = ['wirestate flows'];
  for (let i = 0; i < args.length; i += 2) parts.push(`${args[i]} ${shellArg(args[i + 1])}`);
  return parts;
}

/**
 * A command on as many lines as 80 columns need, continued with a trailing
 * backslash so it still pastes into a shell; an option and its value stay together.
 */
export function commandLines(parts: readonly string[], indent: string): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const p of parts) {
    if (line.trim() !== '' && line.length + 1 + p.length + 2 > WIDTH) {
      lines.push(`${line} \\`);
      line = `${indent}  ${p}`;
    } else {
      line = line.trim() === '' ? line + p : `${line} ${p}`;
    }
  }
  lines.push(line);
  return lines;
}

/** "10.0.0.1:80" / "[fd00::1]:80" → tcpdump's "host 10.0.0.1 and tcp port 80". */
function tcpdumpFilter(endpoint: string): string | null {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(endpoint);
  return m ? `host ${m[1]} and tcp port ${m[2]}` : null;
}

/** Every packet of a sample flow, straight from the capture file (one file, not standard input): the tcpdump command. */
export function packetsCommand(s: SampleFlow, r: Report): string[] | null {
  const files = r.capture.files.map((x) => x.path);
  const filter = tcpdumpFilter(s.orig);
  return filter && files.length === 1 && files[0] !== '-' ? ['tcpdump -nr', shellArg(files[0]), shellArg(filter)] : null;
}

function renderFinding(f: Finding, n: number, r: Report): string[] {
  const out: string[] = [];
  const head = `[${n}] ${f.severity.toUpperCase()}  `;
  out.push(...wrap(f.title, WIDTH, ' '.repeat(4), head));
  for (const d of f.details) out.push(...wrap(d, WIDTH, '      ', '    - '));
  out.push('    What it means:');
  out.push(...wrap(f.implication, WIDTH, '      '));
  if (f.evidence.flowIds.length > 0) {
    out.push(...wrap(`Evidence: ${evidenceFlows(f)}`, WIDTH, '      ', '    '));
    const next = nextCommand(f, r);
    if (next) out.push('    List them:', ...commandLines(next, '      '));
  }
  const s = f.evidence.sample;
  if (s) {
    out.push(`    Sample flow ${s.flowId}: ${s.orig} -> ${s.resp}`);
    out.push(`      history ${s.history}, conn_state ${s.connState}, close ${s.closeKind}`);
    const why = sampleRolesNote(s);
    if (why) out.push(...wrap(why, WIDTH, '       ', '      '));
    // The same microseconds as the offsets below (and as tcpdump -tttt), so a packet can be found by its time.
    if (s.timeline.length > 0 && s.timeline[0].ts) out.push(`      first transition at ${s.timeline[0].ts.replace('T', ' ').replace('Z', ' UTC')}`);
    // Where the idle time before the first FIN began, among the transitions: the gap a keep-alive timer measures.
    const idle = s.idleBeforeFin;
    let idleShown = idle === null;
    const idleLine = (): void => {
      if (idleShown || idle === null) return;
      idleShown = true;
      const off = `+${idle.offsetS.toFixed(6)}s`.padStart(12);
      const what = idle.afterData ? 'last data' : 'no data since the handshake';
      out.push(...wrap(`${what}; ${formatDuration(idle.idleS)} idle until the first FIN`, WIDTH, ' '.repeat(27), `    ${off} ${''.padEnd(6)} `));
    };
    for (const t of s.timeline) {
      if (idle !== null && t.offsetS > idle.offsetS) idleLine();
      // Microseconds, as tcpdump prints them: a handshake on a LAN takes less than a millisecond.
      const off = `+${t.offsetS.toFixed(6)}s`.padStart(12);
      const who = (t.endpoint === 'orig') !== s.rolesSwapped ? 'client' : 'server';
      // The offset column is right-aligned: the prefix keeps its padding (wrap only collapses spaces inside the text).
      out.push(...wrap(`${t.from} -> ${t.to}: ${t.cause}`, WIDTH, ' '.repeat(27), `    ${off} ${who} `));
    }
    idleLine();
    const packets = packetsCommand(s, r);
    if (packets) out.push('    Its packets:', ...commandLines(packets, '      '));
  }
  return out;
}

/** The report as plain text, at most 80 columns wide. */
export function renderText(r: Report): string {
  const out: string[] = [];
  const c = r.capture;
  out.push(`wirestate report: capture ${c.id} of ${r.captures}${r.database ? ` in ${r.database}` : ''}`);
  if (!c.completed) out.push('  (still running: states as of the last snapshot written)');
  const sources = (c.files.length > 0 ? c.files.map((f) => f.path) : [c.source]).map((x) => (x === '-' ? '- (standard input)' : x));
  for (const s of sources) out.push(...wrap(s, WIDTH, '    ', '  source: '));
  for (const line of captureLines(r)) out.push(...wrap(line, WIDTH, '    ', '  '));
  out.push('');
  out.push(`VERDICT (${r.summary.severity.toUpperCase()})`);
  out.push(...wrap(r.summary.verdict, WIDTH, '  '));
  const cw = closeWaitLine(r);
  if (cw) out.push(...wrap(cw, WIDTH, '  '));
  out.push('');
  if (r.findings.length === 0) {
    out.push(...wrap(noFindingsLine(r), WIDTH, ''));
    out.push('');
  } else {
    out.push('FINDINGS');
    r.findings.forEach((f, i) => {
      out.push(...renderFinding(f, i + 1, r));
      out.push('');
    });
  }
  const omitted = omittedLine(r);
  if (omitted) {
    out.push(...wrap(omitted, WIDTH, ''));
    out.push('');
  }
  out.push(...wrap(thresholdsLine(r), WIDTH, ''));
  return `${out.join('\n')}\n`;
}
