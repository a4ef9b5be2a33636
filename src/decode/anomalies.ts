/**
 * Named, counted facts about packets that did not decode cleanly. Inside the
 * packet loop they are small integers; names appear only when written out.
 */
export const enum Anomaly {
  None = 0,
  /** A link, IP or TCP header is cut short (by the snaplen or the packet end). */
  TruncatedHeader = 1,
  /** IP version nibble is neither the expected 4 nor 6. */
  BadIpVersion = 2,
  /** IPv4 IHL < 5 (header shorter than 20 bytes). */
  BadIpHeaderLength = 3,
  /**
   * IPv4 total length shorter than its header, or IPv6 payload length inconsistent; also an IP
   * length larger than the packet was on the wire (origlen), which is then clamped to the wire length.
   */
  BadIpTotalLength = 4,
  /** TCP data offset < 5, or the TCP header runs past the IP packet's end. */
  BadTcpOffset = 5,
  /** An IP fragment (first or later). IPv4 fragments of TCP are reassembled; other later fragments are skipped. */
  IpFragment = 6,
  /** Link type not decoded: packet skipped. */
  UnknownLinktype = 7,
  /** A TCP option whose length is < 2 or runs past the header. */
  BadTcpOption = 8,
  /** TCP options cut short by the snaplen (the fixed header is still used). */
  TruncatedTcpOptions = 9,
  /** IPv6 extension header chain runs past the captured bytes. */
  TruncatedIpv6Extension = 10,
  /**
   * An IPv4 datagram carrying TCP whose fragments never all arrived (within 30 s of capture time, before the
   * table of 1024 datagrams filled up, or in at most 64 separate pieces): dropped.
   */
  FragmentReassemblyTimeout = 11,
  /** An IPv4 fragment overlapping data already received for its datagram, or disagreeing about the datagram's length. */
  FragmentOverlap = 12,
}

/** Names, indexed by Anomaly code. */
export const ANOMALY_NAMES: readonly string[] = [
  'none',
  'truncated_header',
  'bad_ip_version',
  'bad_ip_header_length',
  'bad_ip_total_length',
  'bad_tcp_offset',
  'ip_fragment',
  'unknown_linktype',
  'bad_tcp_option',
  'truncated_tcp_options',
  'truncated_ipv6_extension',
  'fragment_reassembly_timeout',
  'fragment_overlap',
];

export function anomalyName(code: number): string {
  return ANOMALY_NAMES[code] ?? `anomaly_${code}`;
}

/** Counts per anomaly code; one instance per decoder. */
export class AnomalyCounters {
  private readonly counts = new Float64Array(ANOMALY_NAMES.length);
  /** Input byte offset of the record where each anomaly was first seen (-1: never or unknown). */
  private readonly first = new Float64Array(ANOMALY_NAMES.length).fill(-1);

  /** Count one occurrence; `offset` is the byte offset of the packet's record in the input. */
  add(code: number, offset = -1): void {
    if (this.counts[code]++ === 0) this.first[code] = offset;
  }

  /** Byte offset of the first record with this anomaly, or -1. */
  firstOffset(name: string): number {
    const i = ANOMALY_NAMES.indexOf(name);
    return i > 0 ? this.first[i] : -1;
  }

  /** For each non-zero anomaly, the byte offset of the first record that had it (-1 when unknown). */
  firstOffsets(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 1; i < this.counts.length; i++) if (this.counts[i] > 0) out[ANOMALY_NAMES[i]] = this.first[i];
    return out;
  }

  /** Count for a name ('truncated_header', ...) or 0. */
  get(name: string): number {
    const i = ANOMALY_NAMES.indexOf(name);
    return i > 0 ? this.counts[i] : 0;
  }

  /** Only the non-zero counts, by name. */
  toObject(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 1; i < this.counts.length; i++) if (this.counts[i] > 0) out[ANOMALY_NAMES[i]] = this.counts[i];
    return out;
  }

  reset(): void {
    this.counts.fill(0);
    this.first.fill(-1);
  }
}
