/**
 * Originator inference for a flow whose first packet is not a SYN (capture
 * started mid-stream). The responder is taken to be the side with the more
 * server-like port:
 *   1. a well-known port (< 1024) beats one that is not;
 *   2. otherwise a port outside the common ephemeral range (32768-60999,
 *      Linux default; IANA's 49152-65535 is inside 32768-65535) beats one
 *      inside it;
 *   3. otherwise the lower port is the responder;
 *   4. equal ports: the first packet's sender stays the originator.
 * Returns true when the *destination* of the first packet is the responder
 * (i.e. keep the packet's direction), false when the roles must be flipped.
 */
export function firstPacketSenderIsOrig(srcPort: number, dstPort: number): boolean {
  if (srcPort === dstPort) return true;
  const srcWellKnown = srcPort < 1024;
  const dstWellKnown = dstPort < 1024;
  if (srcWellKnown !== dstWellKnown) return dstWellKnown;
  const srcEphemeral = srcPort >= 32768;
  const dstEphemeral = dstPort >= 32768;
  if (srcEphemeral !== dstEphemeral) return srcEphemeral;
  return dstPort < srcPort;
}
