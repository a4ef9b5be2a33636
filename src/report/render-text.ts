import { formatDuration, formatSpan } from './format-time';
import type { Finding, Report } from './model';
import { wrap } from './text-wrap';

const WIDTH = 80;

function tsOf(iso: string | null): number | null {
  return iso === null ? null : Date.parse(iso) / 1000;
}

function flowList(f: Finding): string {
  const ids = f.evidence.flowIds.join(', ');
  return f.evidence.moreFlows > 0 ? `${ids} (+${f.evidence.moreFlows} more)` : ids;
}

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

function renderFinding(f: Finding, n: number, r: Report): string[] {
  const out: string[] = [];
  const head = `[${n}] ${f.severity.toUpperCase()}  `;
  out.push(...wrap(f.title, WIDTH, ' '.repeat(4), head));
  for (const d of f.details) out.push(...wrap(d, WIDTH, '      ', '    - '));
  out.push('    What it means:');
  out.push(...wrap(f.implication, WIDTH, '      '));
  if (f.evidence.flowIds.length > 0) {
    const order = f.kind === 'close_wait' ? ' (longest stuck first)' : '';
    out.push(...wrap(`Evidence: flow${f.evidence.flowIds.length > 1 ? 's' : ''}${order} ${flowList(f)}`, WIDTH, '      ', '    '));
    const next = nextCommand(f, r);
    if (next) out.push('    List them:', ...commandLines(next, '      '));
  }
  const s = f.evidence.sample;
  if (s) {
    out.push(`    Sample flow ${s.flowId}: ${s.orig} -> ${s.resp}`);
    out.push(`      history ${s.history}, conn_state ${s.connState}, close ${s.closeKind}`);
    if (s.midstream) {
      const why = s.rolesInferred
        ? `(capture started mid-connection, no handshake seen: client and server inferred from which endpoint recurs across the capture; ${s.rolesSwapped ? s.orig : s.resp} is the server)`
        : '(capture started mid-connection: client/server guessed from the ports)';
      out.push(...wrap(why, WIDTH, '       ', '      '));
    }
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
    // Every packet of the sample, straight from the capture file (one file, not standard input).
    const files = r.capture.files.map((x) => x.path);
    const filter = tcpdumpFilter(s.orig);
    if (filter && files.length === 1 && files[0] !== '-') {
      out.push('    Its packets:', ...commandLines(['tcpdump -nr', shellArg(files[0]), shellArg(filter)], '      '));
    }
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
  out.push(
    ...wrap(
      (c.firstTs === null || c.lastTs === null ? 'no packet timestamps' : formatSpan(tsOf(c.firstTs), tsOf(c.lastTs))) +
        (c.durationS !== null ? ` (${formatDuration(c.durationS)})` : '') +
        `, ${c.packets ?? '?'} packets (${c.tcpPackets ?? '?'} TCP), ${c.flows} flow${c.flows === 1 ? '' : 's'}` +
        (c.drops ? `, ${c.drops} dropped by the kernel` : ''),
      WIDTH,
      '    ',
      '  ',
    ),
  );
  const kinds = Object.entries(r.summary.byCloseKind).map(([k, n]) => `${k} ${n}`).join(', ');
  // Named as flows --close-kind takes them.
  if (kinds) out.push(...wrap(`endings (close_kind): ${kinds}`, WIDTH, '    ', '  '));
  const anomalies = Object.entries(c.anomalies).map(([k, n]) => `${k} ${n}`).join(', ');
  if (anomalies) out.push(...wrap(`anomalies: ${anomalies}`, WIDTH, '    ', '  '));
  const mid = r.summary.midstreamFlows;
  if (mid > 0) {
    out.push(
      ...wrap(
        `${mid === 1 ? '1 connection was' : `${mid} connections were`} already open when the capture started: no handshake seen, ` +
          (r.summary.midstreamRolesInferred === 0
            ? `client and server guessed from the ports (a well-known or non-ephemeral port is the server's).`
            : `client and server inferred from fan-in (the endpoint that recurs across connections while the other side's ports vary is the service)` +
              (r.summary.midstreamRolesInferred < mid ? `, for ${r.summary.midstreamRolesInferred} of them; the rest guessed from the ports.` : '.')),
        WIDTH,
        '    ',
        '  ',
      ),
    );
  }
  out.push('');
  out.push(`VERDICT (${r.summary.severity.toUpperCase()})`);
  out.push(...wrap(r.summary.verdict, WIDTH, '  '));
  if (r.summary.closeWait > 0) {
    out.push(
      ...wrap(
        `${r.summary.closeWait} connection${r.summary.closeWait === 1 ? '' : 's'} in CLOSE_WAIT at capture end, ` +
          `${r.summary.finWait2CloseWaitPairs} of them paired with FIN_WAIT_2 on the closer.`,
        WIDTH,
        '  ',
      ),
    );
  }
  out.push('');
  if (r.findings.length === 0) {
    out.push(
      ...wrap(
        c.flows === 0
          ? 'No findings: there is no TCP connection in this capture to diagnose.'
          : 'No findings: every connection in this capture opened and closed normally or is still open.',
        WIDTH,
        '',
      ),
    );
    out.push('');
  } else {
    out.push('FINDINGS');
    r.findings.forEach((f, i) => {
      out.push(...renderFinding(f, i + 1, r));
      out.push('');
    });
  }
  const omitted = Object.entries(r.summary.omitted);
  if (omitted.length > 0) {
    out.push(...wrap(`Not shown: ${omitted.map(([k, n]) => `${n} more ${k} finding${n === 1 ? '' : 's'}`).join(', ')} (--all shows every finding).`, WIDTH, ''));
    out.push('');
  }
  out.push(
    ...wrap(
      `Thresholds: warning above ${r.thresholds.warnCount} CLOSE_WAIT connections or ${formatDuration(r.thresholds.warnAgeS)} stuck, ` +
        `critical above ${formatDuration(r.thresholds.critAgeS)} (--warn-count, --warn-age, --crit-age).`,
      WIDTH,
      '',
    ),
  );
  return `${out.join('\n')}\n`;
}
