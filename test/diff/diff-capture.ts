import { compareFile, FileComparison } from './compare-flows';
import { explainDifference } from './difference-rules';
import { engineFlows } from './engine-flows';
import { storedFlows } from './stored-flows';
import { tcptraceConnections } from './tcptrace-long';
import { tsharkConnections } from './tshark-tcp';
import { toolAvailable } from './tool-run';

export const HAVE_TSHARK = toolAvailable('tshark', ['-v']);
export const HAVE_TCPTRACE = toolAvailable('tcptrace', ['-v']);

export interface CaptureDiff extends FileComparison {
  file: string;
  /** Differences a rule explains, by rule id. */
  explained: Map<string, number>;
  /** Differences no rule explains. */
  unexplained: FileComparison['differences'];
}

/**
 * Runs wirestate's engine (in process, or `via` 'ingest': the CLI into a
 * temporary database, read back with SQL), tshark and tcptrace (when
 * installed) over one capture at the same time and compares them per
 * connection. tcptrace is left
 * out, with the reason, for files it cannot read (link types it does not know,
 * pcapng with mixed link types, gzip pcapng, IPv6 extension headers, QinQ).
 */
export async function diffCapture(file: string, via: 'engine' | 'ingest' = 'engine'): Promise<CaptureDiff> {
  const [flows, ts, tt] = await Promise.all([
    via === 'engine' ? engineFlows(file) : storedFlows(file),
    HAVE_TSHARK ? tsharkConnections(file) : Promise.resolve(null),
    HAVE_TCPTRACE ? tcptraceConnections(file) : Promise.resolve(null),
  ]);
  if (ts !== null && ts.code !== 0) {
    // A tshark that cannot run the field list (too old for tcp.seq_raw, ...) must not look like "no connections".
    const why = ts.stderr.split('\n').find((l) => l.trim() !== '' && !/running as user/i.test(l)) ?? `exit ${ts.code}`;
    throw new Error(`tshark failed on ${file}: ${why.trim()}`);
  }
  let skip: string | null = null;
  if (tt === null) skip = 'tcptrace is not installed';
  else if (tt.complaint !== '') skip = `tcptrace cannot read it: ${tt.complaint}`;
  else if (tt.tcpPacketsTraced === 0 && ts !== null && ts.frames > 0)
    skip = `tcptrace traced 0 TCP packets where tshark dissected ${ts.frames} (encapsulation it does not parse)`;
  const cmp = compareFile(flows, ts, tt, skip);
  const explained = new Map<string, number>();
  const unexplained: FileComparison['differences'] = [];
  for (const d of cmp.differences) {
    const id = explainDifference(d);
    if (id === null) unexplained.push(d);
    else explained.set(id, (explained.get(id) ?? 0) + 1);
  }
  return { ...cmp, file, explained, unexplained };
}

/** One line per unexplained difference, for assertion messages and the hand-run script. */
export function describeDifferences(rows: FileComparison['differences'], max = 20): string {
  const lines = rows.slice(0, max).map((r) => `  ${r.tool} ${r.check}: ours ${r.ours}, ${r.tool} ${r.theirs} — ${r.conn}${r.ctx.flow ? ` history ${r.ctx.flow.history} ${r.ctx.flow.closeKind}` : ''}`);
  if (rows.length > max) lines.push(`  ... and ${rows.length - max} more`);
  return lines.join('\n');
}
