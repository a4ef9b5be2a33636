/**
 * The result of decoding one packet. A single instance is owned by a Decoder
 * and overwritten for every packet: no object per packet on the hot path.
 * All 32-bit TCP fields are unsigned (`>>> 0`).
 */
export class DecodedPacket {
  /** Outer and inner 802.1Q/802.1ad VLAN ids; -1 when the frame had no such tag. */
  vlan = -1;
  innerVlan = -1;

  /** 4 or 6 when an IP header was decoded, 0 otherwise. */
  ipVersion = 0;
  /** IPv4 addresses as unsigned 32-bit integers (valid when ipVersion === 4). */
  src4 = 0;
  dst4 = 0;
  /** IPv6 addresses as four big-endian 32-bit words (valid when ipVersion === 6). */
  readonly src6 = new Uint32Array(4);
  readonly dst6 = new Uint32Array(4);
  /** IP packet length on the wire (IPv4 total length, IPv6 40 + payload length). */
  ipLen = 0;
  /** IP protocol / IPv6 upper-layer next header after walking extensions. */
  protocol = 0;
  /** True when this is a fragment (IPv4 MF or offset, IPv6 fragment header). */
  fragment = false;
  /** True for a non-first fragment: no transport header in it. */
  laterFragment = false;
  /**
   * True when this packet is the IPv4 fragment that completed a fragmented
   * TCP datagram: the TCP fields come from the first fragment, payloadLen and
   * ipLen are the whole datagram's, and no payload bytes are given
   * (capturedPayloadLen 0).
   */
  reassembled = false;

  /** True when a TCP header was decoded. */
  tcp = false;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  /** TCP flag byte: FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80. */
  flags = 0;
  /** Raw (unscaled) window field. */
  window = 0;
  /** TCP header length in bytes. */
  tcpHeaderLen = 0;
  /** Payload length on the wire, from the IP lengths (not limited by snaplen). */
  payloadLen = 0;
  /** Offset of the payload in the packet buffer, and how much of it was captured. */
  payloadOff = 0;
  capturedPayloadLen = 0;

  /** TCP options; -1 means absent. */
  mss = -1;
  wscale = -1;
  sackPermitted = false;
  /** Number of SACK blocks present (0..4). */
  sackBlocks = 0;
  /** Left and right edges of the SACK blocks (first `sackBlocks` entries valid). */
  readonly sackLeft = new Uint32Array(4);
  readonly sackRight = new Uint32Array(4);
  hasTimestamps = false;
  tsVal = 0;
  tsEcr = 0;

  /** 0 when the packet decoded cleanly, else an Anomaly code (see anomalies.ts). */
  anomaly = 0;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
