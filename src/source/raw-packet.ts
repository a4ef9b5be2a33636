/**
 * One captured packet as a source lends it. The object is reused for every
 * packet; `buf` is borrowed and only valid until the handler returns.
 * Whatever must outlive the call is copied deliberately.
 */
export interface RawPacket {
  /** Bytes of the packet start at `off` and run for `caplen` bytes. */
  buf: Buffer;
  off: number;
  /** Bytes captured (after snaplen). */
  caplen: number;
  /** Bytes on the wire. */
  origlen: number;
  /** Timestamp as integer microseconds since the Unix epoch (exact in a double). */
  tsUs: number;
  /** LINKTYPE_* value of the interface the packet arrived on. */
  linktype: number;
  /** pcapng interface index (0 for classic pcap and live capture). */
  interfaceId: number;
  /** Byte offset of the packet's record in the (decompressed) input. */
  fileOffset: number;
}

export type PacketHandler = (p: RawPacket) => void;
