import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/decoded-packet';
import { TcpEndpoint } from './tcp-endpoint';
import { H_ACK, H_DATA, H_FIN, H_FIN_RST, H_MULTI, H_RST, H_SYN, TcpFlow } from './tcp-flow';

/**
 * Zeek's connection history letters for one segment's flags (conn.log
 * `history`; uppercase = originator, lowercase = responder):
 *  - more than one of SYN/FIN/RST: 'I' for FIN+RST, else 'Q' (once per direction);
 *  - SYN: 'H' with ACK, 'S' without (S and H share one slot): recorded the
 *    first time, and again whenever the SYN's sequence number differs from
 *    the last SYN of that direction;
 *  - FIN: 'F', again when seq + payload length differs from the last FIN's;
 *  - RST: 'R', again when seq differs from the last RST's;
 *  - none of them: 'D' when the segment carries payload, else 'A' if ACK is
 *    set (each once per direction).
 * The logarithmic letters (T retransmission, G content gap, W zero window)
 * are added where those events are detected (process-segment.ts): at the
 * 1st, 10th, 100th ... occurrence. 'C' (bad checksum) is never produced:
 * checksums are not verified. '^' is written at flow creation when the
 * first packet's sender was made the responder.
 */
export function updateZeekHistory(
  flow: TcpFlow,
  fromOrig: boolean,
  x: TcpEndpoint,
  flags: number,
  seq: number,
  len: number,
): void {
  const syn = (flags & TCP_SYN) !== 0;
  const fin = (flags & TCP_FIN) !== 0;
  const rst = (flags & TCP_RST) !== 0;
  const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
  if (bits > 1) {
    if (fin && rst) flow.checkHistory(fromOrig, H_FIN_RST, 'I');
    else flow.checkHistory(fromOrig, H_MULTI, 'Q');
    return;
  }
  if (bits === 1) {
    if (syn) {
      const code = (flags & TCP_ACK) !== 0 ? 'H' : 'S';
      if (flow.checkHistory(fromOrig, H_SYN, code) && seq !== x.histLastSyn) flow.addHistory(fromOrig, code);
      x.histLastSyn = seq;
    } else if (fin) {
      const finPos = (seq + len) >>> 0;
      if (flow.checkHistory(fromOrig, H_FIN, 'F') && finPos !== x.histLastFin) flow.addHistory(fromOrig, 'F');
      x.histLastFin = finPos;
    } else {
      if (flow.checkHistory(fromOrig, H_RST, 'R') && seq !== x.histLastRst) flow.addHistory(fromOrig, 'R');
      x.histLastRst = seq;
    }
    return;
  }
  if (len > 0) flow.checkHistory(fromOrig, H_DATA, 'D');
  else if ((flags & TCP_ACK) !== 0) flow.checkHistory(fromOrig, H_ACK, 'A');
}
