import { formatTs, isoTs } from '../format-time';
import type { Finding, ReportCapture } from '../model';
import type { FindingModule } from './finding-module';

/** The reader's wording for a last record cut short by the end of the file (tcpdump killed), as opposed to broken framing. */
const CUT_SHORT = /truncated at end of file|cut short/;

function damageFinding(c: ReportCapture, endTs: number | null): Finding[] {
  if (!c.truncated && !c.damage) return [];
  if (c.kind === 'live') return [liveAbortFinding(c, endTs)];
  const cutShort = c.damage === null || CUT_SHORT.test(c.damage);
  const nothing = (c.packets ?? 0) === 0;
  const details = [
    nothing
      ? 'No packet could be read before the damage: the database holds nothing from this capture.'
      : cutShort
        ? 'Every packet before the cut is in the database; only the last, partial record is missing.'
        : 'Reading stopped at the damage: flows read before it are in the database; everything after it in the file was not read.',
  ];
  return [
    {
      kind: 'capture_damage',
      severity: 'warning',
      title: cutShort
        ? `The capture ends in a truncated record: ${c.damage ?? 'the last record is cut short'}`
        : `The capture file is corrupt: ${c.damage}`,
      details,
      implication: cutShort
        ? 'tcpdump was stopped while writing (killed, disk full) or the file was copied while still being written. ' +
          'States at the very end of the capture may be missing their last packet.'
        : 'The file is broken at that byte (a damaged copy or transfer, files glued together, or a writer bug), not just cut short: ' +
          'connections after that point are missing or incomplete. Get the original file again if it is intact, or capture again.',
      facts: { damage: c.damage, cutShort, packetsRead: c.packets },
      evidence: { flowIds: [], moreFlows: 0, sample: null },
    },
  ];
}

/**
 * A live capture whose capturing process died (device error, killed): the
 * supervisor closed its row as damaged, from the last flush. Nothing is
 * corrupt; the states are simply as of that flush. Informational: by itself
 * it does not raise the verdict's severity.
 */
function liveAbortFinding(c: ReportCapture, endTs: number | null): Finding {
  const at = endTs === null ? 'the last flush' : `the last flush at ${formatTs(endTs)}`;
  return {
    kind: 'capture_damage',
    severity: 'info',
    // The supervisor's own line ("live capture on eth0 ended abnormally (SIGABRT): ...") already says it all.
    title:
      c.damage && /^live capture .*ended abnormally/.test(c.damage)
        ? `L${c.damage.slice(1)}`
        : `The live capture ended abnormally${c.damage ? `: ${c.damage}` : ''}`,
    details: [
      `States are as of ${at}: every flow written by then is in the database, with the state it had at that flush; ` +
        `packets after it were not recorded.`,
    ],
    implication:
      'The capturing process stopped before it could finish (the interface went down or was removed, or the process was killed). ' +
      'Nothing in the database is damaged, but connections may have changed state after the last flush: ' +
      'a CLOSE_WAIT listed here may have been closed since. Run wirestate live again to watch them further.',
    facts: { damage: c.damage, cutShort: false, liveAborted: true, lastFlush: isoTs(endTs), packetsRead: c.packets },
    evidence: { flowIds: [], moreFlows: 0, sample: null },
  };
}

/** A truncated or corrupt capture file, or a live capture that ended abnormally. */
export const captureDamage: FindingModule = { kind: 'capture_damage', build: (c) => damageFinding(c.capture, c.endTs) };
