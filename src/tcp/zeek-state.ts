import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/decoded-packet';
import { TcpEndpoint } from './tcp-endpoint';
import { TcpFlow } from './tcp-flow';
import {
  Z_CLOSED,
  Z_ESTABLISHED,
  Z_INACTIVE,
  Z_PARTIAL,
  Z_RESET,
  Z_SYN_ACK_SENT,
  Z_SYN_SENT,
} from './tcp-state-codes';

function zset(ep: TcpEndpoint, to: number): void {
  if (ep.zstate === to) return;
  ep.zprev = ep.zstate;
  ep.zstate = to;
}

/**
 * Zeek's coarse endpoint states (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL,
 * ESTABLISHED, CLOSED, RESET), driven the way Zeek's TCP analyzer drives
 * them, so that conn_state can be derived with Zeek's own decision list.
 * These states are not reported; the RFC states are.
 */
export function updateZeekState(
  flow: TcpFlow,
  fromOrig: boolean,
  x: TcpEndpoint,
  y: TcpEndpoint,
  flags: number,
  len: number,
): void {
  const syn = (flags & TCP_SYN) !== 0;
  const fin = (flags & TCP_FIN) !== 0;
  const rst = (flags & TCP_RST) !== 0;
  const ack = (flags & TCP_ACK) !== 0;
  switch (x.zstate) {
    case Z_INACTIVE:
      if (syn) {
        if (fromOrig) {
          zset(x, ack ? Z_SYN_ACK_SENT : Z_SYN_SENT);
        } else {
          if (y.zstate === Z_SYN_SENT) zset(y, Z_ESTABLISHED);
          zset(x, Z_ESTABLISHED);
        }
      }
      if (fin) zset(x, Z_CLOSED);
      if (rst) zset(x, Z_RESET);
      if (x.zstate === Z_INACTIVE) {
        if (!fromOrig && len === 0 && flow.orig.zstate === Z_SYN_SENT) {
          // an ACK of the SYN before the SYN+ACK: not a partial connection
        } else if (ack && y.zstate === Z_ESTABLISHED) {
          zset(x, Z_ESTABLISHED);
        } else {
          zset(x, Z_PARTIAL);
        }
      }
      break;
    case Z_SYN_SENT:
    case Z_SYN_ACK_SENT:
      if (fin) zset(x, Z_CLOSED);
      if (rst) zset(x, Z_RESET);
      break;
    case Z_ESTABLISHED:
    case Z_PARTIAL:
      if (syn && x.zstate === Z_PARTIAL && y.zstate === Z_INACTIVE && !ack) zset(x, Z_SYN_SENT);
      if (fin && !rst) {
        zset(x, Z_CLOSED);
        if (y.zstate === Z_RESET && y.zprev === Z_CLOSED) zset(y, Z_CLOSED);
      }
      if (rst) zset(x, Z_RESET);
      break;
    case Z_CLOSED:
      if (rst && y.zstate !== Z_CLOSED) zset(x, Z_RESET);
      break;
    default:
      break;
  }
}

/**
 * Zeek's conn_state for TCP, in Zeek's decision order
 * (base/protocols/conn/main.zeek, function conn_state).
 */
export function zeekConnState(flow: TcpFlow): string {
  const os = flow.orig.zstate;
  const rs = flow.resp.zstate;
  const oInactive = os === Z_INACTIVE || os === Z_PARTIAL;
  const rInactive = rs === Z_INACTIVE || rs === Z_PARTIAL;
  if (rs === Z_RESET) {
    if (os === Z_SYN_SENT || os === Z_SYN_ACK_SENT || (os === Z_RESET && flow.orig.bytes === 0 && flow.resp.bytes === 0)) {
      return 'REJ';
    }
    return oInactive ? 'RSTRH' : 'RSTR';
  }
  if (os === Z_RESET) {
    if (rInactive) return /^\^?S[^HAFGIQ]*R/.test(flow.history) ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (rs === Z_CLOSED && os === Z_CLOSED) return 'SF';
  if (os === Z_CLOSED) return rInactive ? 'SH' : 'S2';
  if (rs === Z_CLOSED) return oInactive ? 'SHR' : 'S3';
  if (os === Z_SYN_SENT && rs === Z_INACTIVE) return 'S0';
  if (os === Z_ESTABLISHED && rs === Z_ESTABLISHED) return 'S1';
  return 'OTH';
}
