import type { FindingModule } from './finding-module';
import { captureDamage } from './capture-damage';
import { captureLoss } from './capture-loss';
import { closeWait } from './close-wait';
import { resetAfterHalfCloseModule } from './reset-after-half-close';
import { finUnacked, lastAckUnacked } from './unacked-close';
import { noReply, refused } from './connect-failure';
import { reset } from './reset';
import { zeroWindow } from './zero-window';
import { retransmissionsModule } from './retransmissions';
import { closerFingerprint } from './closer-fingerprint';
import { timeWaitModule } from './time-wait';
import { keepaliveRace } from './keepalive-race';

export type { FindingModule, ReportContext } from './finding-module';

/**
 * Every finding kind the report computes, one line each. The order is the
 * report's order among findings of equal severity (CLOSE_WAIT leaks lead,
 * after the capture's own damage). A new finding is one module and one line here.
 */
export const FINDING_MODULES: readonly FindingModule[] = [
  captureDamage,
  captureLoss,
  closeWait,
  resetAfterHalfCloseModule,
  keepaliveRace,
  finUnacked,
  lastAckUnacked,
  refused,
  noReply,
  reset,
  zeroWindow,
  retransmissionsModule,
  closerFingerprint,
  timeWaitModule,
];
