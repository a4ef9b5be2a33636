/**
 * Canonical text for addresses read from the kernel, matching what the engine
 * writes into FlowRecord (src/flow/address-text.ts does the formatting):
 * dotted quad for IPv4, RFC 5952 for IPv6. /proc/net/tcp6 yields IPv6
 * addresses as eight 16-bit groups; callers turn IPv4-mapped ones into IPv4
 * (such a socket puts IPv4 packets on the wire).
 */
import { ipv4Text, ipv6Text as ipv6WordsText } from '../flow/address-text';

export { ipv4Text };

/** RFC 5952 text of an IPv6 address given as eight 16-bit groups. */
export function ipv6Text(groups: ArrayLike<number>): string {
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return ipv6WordsText(words);
}

/** True for ::ffff:a.b.c.d given as eight 16-bit groups. */
export function isV4Mapped(groups: ArrayLike<number>): boolean {
  return (
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff
  );
}
