import { LOSS_CAUTION_PERCENT, lossText } from '../capture-loss';
import type { Finding, ReportCapture } from '../model';
import type { FindingModule } from './finding-module';

/**
 * The capture missed more than about 1% of the data the endpoints
 * acknowledged (Zeek's capture-loss estimate; snaplen-cut payload is not
 * loss). A caution about the conclusions, not a finding about the network:
 * it does not set the report's severity (verdict.ts).
 */
function lossFinding(c: ReportCapture): Finding[] {
  const l = c.captureLoss;
  if (l === null || l.percent === null || l.percent <= LOSS_CAUTION_PERCENT) return [];
  return [
    {
      kind: 'capture_loss',
      severity: 'warning',
      title: `The capture missed ${l.percent.toFixed(l.percent >= 10 ? 0 : 1)}% of the data the endpoints acknowledged`,
      details: [
        `Capture loss: ${lossText(l)}, counted on connections while both sides were established.`,
        c.drops ? `The kernel also reported ${c.drops} dropped packets.` : 'Packets the capture lost are gone before wirestate sees them (a full capture buffer, a busy span port, tcpdump too slow).',
      ],
      implication:
        'A missed FIN or RST changes what an endpoint\'s state must be: a connection shown in CLOSE_WAIT, FIN_WAIT_2 or ESTABLISHED ' +
        'may have closed on the wire without the capture seeing it, and missed retransmissions or ACKs change the loss and close findings. ' +
        'Treat per-connection states as likely rather than certain; capture closer to the hosts, with a larger buffer (tcpdump -B), or filter to the port of interest.',
      facts: { ackedBytes: l.ackedBytes, gapBytes: l.gapBytes, percent: l.percent },
      evidence: { flowIds: [], moreFlows: 0, sample: null },
    },
  ];
}

/** More than about 1% of the acknowledged data never seen by the capture. */
export const captureLoss: FindingModule = { kind: 'capture_loss', build: (c) => lossFinding(c.capture) };
