import { RawPacket } from '../source/raw-packet';
import { Anomaly, AnomalyCounters } from './anomalies';
import { DecodedPacket } from './decoded-packet';
import { Ipv4Reassembly } from './ipv4-reassembly';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_12,
  LINKTYPE_RAW_14,
} from './linktypes';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_MPLS_MULTICAST = 0x8848;
/** IEEE 802.1ah provider backbone bridging: a 4-byte I-TAG, then the customer's Ethernet header. */
const ETHERTYPE_PBB = 0x88e7;
/** Cisco VN-Tag (802.1Qbh): 4 bytes of tag, then the next ethertype. */
const ETHERTYPE_VNTAG = 0x8926;
/** More tags than this on one frame is taken as garbage. */
const MAX_LINK_TAGS = 16;
const IPPROTO_TCP = 6;
const MAX_IPV6_EXTENSIONS = 16;

/** Big-endian reads without Buffer's argument checks (callers check bounds first). */
function u16(b: Buffer, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function u32(b: Buffer, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Network layer found by the link decoder. */
const L3_NONE = 0; // not IP (ARP, LLDP, ...)
const L3_IPV4 = 4;
const L3_IPV6 = 6;
const L3_ANY = 1; // raw IP: version nibble decides
const L3_FAIL = -1; // anomaly already counted

/** Counts kept by a Decoder, for `stats` and ingest summaries. */
export interface DecoderCounts {
  packets: number;
  tcpPackets: number;
  ipv4: number;
  ipv6: number;
  nonIp: number;
  nonTcp: number;
  fragments: number;
  laterFragments: number;
  vlanTagged: number;
  /** Frames with an MPLS label stack, an 802.1ah PBB header, a VN-Tag. */
  mpls: number;
  pbb: number;
  vnTag: number;
  skippedLinktype: number;
  malformed: number;
}

/**
 * Decodes link + IP + TCP headers into one reused DecodedPacket. Dispatch is
 * on numbers only and nothing is allocated per packet. A packet cut short by
 * the snaplen is still used for what its headers say: payload lengths come
 * from the IP lengths, not from the captured bytes. IPv4 fragments of TCP
 * datagrams are reassembled (lengths only): the fragment that completes a
 * datagram decodes as the whole segment.
 */
export class Decoder {
  readonly pkt = new DecodedPacket();
  readonly anomalies = new AnomalyCounters();

  packets = 0;
  tcpPackets = 0;
  ipv4 = 0;
  ipv6 = 0;
  /** Decoded link layer carrying something other than IP. */
  nonIp = 0;
  /** IP packets that are not TCP, or fragments of a TCP datagram other than the one completing it. */
  nonTcp = 0;
  fragments = 0;
  laterFragments = 0;
  vlanTagged = 0;
  mpls = 0;
  pbb = 0;
  vnTag = 0;
  /** Packets of a link type the decoder does not read (also counted as unknown_linktype). */
  skippedLinktype = 0;
  /** Packets dropped because a header was broken or cut short. */
  malformed = 0;

  private readonly reassembly = new Ipv4Reassembly();
  private l3Off = 0;
  /** fileOffset of the packet being decoded, for the anomalies' first offsets. */
  private recordOffset = 0;

  counts(): DecoderCounts {
    return {
      packets: this.packets,
      tcpPackets: this.tcpPackets,
      ipv4: this.ipv4,
      ipv6: this.ipv6,
      nonIp: this.nonIp,
      nonTcp: this.nonTcp,
      fragments: this.fragments,
      laterFragments: this.laterFragments,
      vlanTagged: this.vlanTagged,
      mpls: this.mpls,
      pbb: this.pbb,
      vnTag: this.vnTag,
      skippedLinktype: this.skippedLinktype,
      malformed: this.malformed,
    };
  }

  private fail(code: number): boolean {
    this.pkt.anomaly = code;
    this.anomalies.add(code, this.recordOffset);
    this.malformed++;
    return false;
  }

  /** Decode `raw`. Returns true when `pkt` holds a usable TCP segment header. */
  decode(raw: RawPacket): boolean {
    const pkt = this.pkt;
    pkt.ipVersion = 0;
    pkt.protocol = 0;
    pkt.fragment = false;
    pkt.laterFragment = false;
    pkt.reassembled = false;
    pkt.tcp = false;
    pkt.anomaly = 0;
    pkt.ipLen = 0;
    pkt.vlan = -1;
    pkt.innerVlan = -1;
    this.packets++;
    this.recordOffset = raw.fileOffset;

    const buf = raw.buf;
    const end = raw.off + raw.caplen;
    const l3 = this.decodeLink(buf, raw.off, end, raw.linktype);
    if (l3 === L3_FAIL) return false;
    if (l3 === L3_NONE) {
      this.nonIp++;
      return false;
    }
    const p = this.l3Off;
    if (end - p < 1) return this.fail(Anomaly.TruncatedHeader);
    const version = buf[p] >> 4;
    if (version === 4 && l3 !== L3_IPV6) return this.decodeIpv4(buf, p, end, raw);
    if (version === 6 && l3 !== L3_IPV4) return this.decodeIpv6(buf, p, end, raw);
    return this.fail(Anomaly.BadIpVersion);
  }

  /** Bytes from `p` (the IP header) to the end of the packet as it was on the wire. */
  private wireLen(raw: RawPacket, p: number): number {
    // origlen is the wire length; a writer that put a smaller one than caplen is not believed.
    const len = raw.origlen > raw.caplen ? raw.origlen : raw.caplen;
    return len - (p - raw.off);
  }

  /** The IP length field claims more bytes than the packet had on the wire: counted, then clamped by the caller. */
  private oversized(pkt: DecodedPacket): void {
    pkt.anomaly = Anomaly.BadIpTotalLength;
    this.anomalies.add(Anomaly.BadIpTotalLength, this.recordOffset);
  }

  /** Sets l3Off and returns the kind of network layer (L3_*). */
  private decodeLink(buf: Buffer, off: number, end: number, linktype: number): number {
    let et: number;
    let p: number;
    switch (linktype) {
      case LINKTYPE_ETHERNET:
        if (end - off < 14) {
          this.fail(Anomaly.TruncatedHeader);
          return L3_FAIL;
        }
        et = u16(buf, off + 12);
        p = off + 14;
        break;
      case LINKTYPE_LINUX_SLL:
        if (end - off < 16) {
          this.fail(Anomaly.TruncatedHeader);
          return L3_FAIL;
        }
        et = u16(buf, off + 14);
        p = off + 16;
        break;
      case LINKTYPE_LINUX_SLL2:
        if (end - off < 20) {
          this.fail(Anomaly.TruncatedHeader);
          return L3_FAIL;
        }
        et = u16(buf, off);
        p = off + 20;
        break;
      case LINKTYPE_NULL:
      case LINKTYPE_LOOP: {
        if (end - off < 4) {
          this.fail(Anomaly.TruncatedHeader);
          return L3_FAIL;
        }
        // NULL: address family in the writer's byte order; LOOP: network byte order.
        let family = linktype === LINKTYPE_LOOP ? u32(buf, off) : buf.readUInt32LE(off);
        if (family > 0xffff) family = u32(buf, off);
        this.l3Off = off + 4;
        if (family === 2) return L3_IPV4;
        // AF_INET6 as BSDs write it: NetBSD/OpenBSD 24, FreeBSD 28, macOS 30.
        if (family === 24 || family === 28 || family === 30) return L3_IPV6;
        return L3_NONE;
      }
      case LINKTYPE_RAW:
      case LINKTYPE_RAW_12:
      case LINKTYPE_RAW_14:
        this.l3Off = off;
        return L3_ANY;
      case LINKTYPE_IPV4:
        this.l3Off = off;
        return L3_IPV4;
      case LINKTYPE_IPV6:
        this.l3Off = off;
        return L3_IPV6;
      default:
        this.skippedLinktype++;
        this.pkt.anomaly = Anomaly.UnknownLinktype;
        this.anomalies.add(Anomaly.UnknownLinktype, this.recordOffset);
        return L3_FAIL;
    }
    // 802.1Q / 802.1ad (QinQ) tags, any depth; VN-Tag; 802.1ah PBB (whose
    // inner Ethernet header may carry VLAN tags again); an MPLS label stack last.
    let vlanDepth = 0;
    let tagged = false;
    for (let n = 0; ; n++) {
      if (n === MAX_LINK_TAGS) {
        this.fail(Anomaly.TruncatedHeader);
        return L3_FAIL;
      }
      if (et === ETHERTYPE_VLAN || et === ETHERTYPE_QINQ || et === ETHERTYPE_QINQ_OLD) {
        if (end - p < 4) {
          this.fail(Anomaly.TruncatedHeader);
          return L3_FAIL;
        }
        if (!tagged) {
          tagged = true;
          this.vlanTagged++;
        }
        const vid = u16(buf, p) & 0x0fff;
        if (vlanDepth === 0) this.pkt.vlan = vid;
        else if (vlanDepth === 1) this.pkt.innerVlan = vid;
        vlanDepth++;
        et = u16(buf, p + 2);
        p += 4;
      } else if (et === ETHERTYPE_VNTAG) {
        if (end - p < 6) {
          this.fail(Anomaly.TruncatedHeader);
          return L3_FAIL;
        }
        this.vnTag++;
        et = u16(buf, p + 4);
        p += 6;
      } else if (et === ETHERTYPE_PBB) {
        // I-TAG (4 bytes: priority, flags, 24-bit I-SID), then the customer's destination, source, ethertype.
        if (end - p < 18) {
          this.fail(Anomaly.TruncatedHeader);
          return L3_FAIL;
        }
        this.pbb++;
        et = u16(buf, p + 16);
        p += 18;
      } else if (et === ETHERTYPE_MPLS || et === ETHERTYPE_MPLS_MULTICAST) {
        return this.decodeMpls(buf, p, end);
      } else {
        break;
      }
    }
    this.l3Off = p;
    if (et === ETHERTYPE_IPV4) return L3_IPV4;
    if (et === ETHERTYPE_IPV6) return L3_IPV6;
    return L3_NONE;
  }

  /**
   * An MPLS label stack at `p`: 4-byte entries up to the one with the
   * bottom-of-stack bit, then IPv4 or IPv6 by the version nibble. Anything
   * else under the labels (an Ethernet pseudowire, whose control word starts
   * with 0) is not IP.
   */
  private decodeMpls(buf: Buffer, p: number, end: number): number {
    this.mpls++;
    for (let n = 0; ; n++) {
      if (end - p < 4 || n === MAX_LINK_TAGS) {
        this.fail(Anomaly.TruncatedHeader);
        return L3_FAIL;
      }
      const bottom = (buf[p + 2] & 0x01) !== 0;
      p += 4;
      if (bottom) break;
    }
    this.l3Off = p;
    if (end - p < 1) {
      this.fail(Anomaly.TruncatedHeader);
      return L3_FAIL;
    }
    const v = buf[p] >> 4;
    if (v === 4) return L3_IPV4;
    if (v === 6) return L3_IPV6;
    return L3_NONE;
  }

  private decodeIpv4(buf: Buffer, p: number, end: number, raw: RawPacket): boolean {
    const pkt = this.pkt;
    const ihl = (buf[p] & 0x0f) * 4;
    if (ihl < 20) return this.fail(Anomaly.BadIpHeaderLength);
    if (end - p < ihl) return this.fail(Anomaly.TruncatedHeader);
    let totalLen = u16(buf, p + 2);
    const wireLen = this.wireLen(raw, p);
    // Segmentation offload: the kernel may hand tcpdump a super-packet with length 0.
    if (totalLen === 0) totalLen = wireLen;
    if (totalLen < ihl) return this.fail(Anomaly.BadIpTotalLength);
    if (totalLen > wireLen) {
      // The IP header claims more than was on the wire (not a snaplen cut: origlen is the wire length).
      if (wireLen < ihl) return this.fail(Anomaly.BadIpTotalLength);
      this.oversized(pkt);
      totalLen = wireLen;
    }
    this.ipv4++;
    pkt.ipVersion = 4;
    pkt.ipLen = totalLen;
    pkt.src4 = u32(buf, p + 12);
    pkt.dst4 = u32(buf, p + 16);
    const proto = buf[p + 9];
    pkt.protocol = proto;
    const frag = u16(buf, p + 6);
    if ((frag & 0x3fff) !== 0) {
      pkt.fragment = true;
      this.fragments++;
      this.anomalies.add(Anomaly.IpFragment, this.recordOffset);
      if ((frag & 0x1fff) !== 0) {
        pkt.laterFragment = true;
        this.laterFragments++;
      }
      if (proto === IPPROTO_TCP) return this.reassemble(buf, p, end, ihl, totalLen, frag, raw);
      this.nonTcp++;
      return false;
    }
    if (proto !== IPPROTO_TCP) {
      this.nonTcp++;
      return false;
    }
    const ipEnd = p + totalLen;
    return this.decodeTcp(buf, p + ihl, totalLen - ihl, ipEnd < end ? ipEnd : end);
  }

  /**
   * A fragment of an IPv4 datagram carrying TCP: collected until the datagram
   * is whole, then decoded once, from the first fragment's headers, with the
   * whole datagram's lengths. Fragments that do not complete a datagram count
   * as IP-not-TCP packets.
   */
  private reassemble(buf: Buffer, p: number, end: number, ihl: number, totalLen: number, frag: number, raw: RawPacket): boolean {
    const pkt = this.pkt;
    const r = this.reassembly;
    const key = `${raw.interfaceId}/${pkt.vlan}/${pkt.innerVlan}/${pkt.src4}/${pkt.dst4}/${u16(buf, p + 4)}/${pkt.protocol}`;
    const done = r.add(key, raw.tsUs, (frag & 0x1fff) * 8, totalLen - ihl, (frag & 0x2000) !== 0, buf, p, ihl, end);
    for (let i = 0; i < r.expired; i++) this.anomalies.add(Anomaly.FragmentReassemblyTimeout, this.recordOffset);
    if (r.overlap) {
      pkt.anomaly = Anomaly.FragmentOverlap;
      this.anomalies.add(Anomaly.FragmentOverlap, this.recordOffset);
    }
    if (!done) {
      this.nonTcp++;
      return false;
    }
    pkt.reassembled = true;
    pkt.ipLen = r.ihl + r.dataLen;
    const head = r.head;
    if (!this.decodeTcp(head, r.ihl, r.dataLen, head.length)) return false;
    // The payload is spread over the fragments, not in one buffer.
    pkt.payloadOff = 0;
    pkt.capturedPayloadLen = 0;
    return true;
  }

  /**
   * End of the input: IPv4 datagrams still missing fragments are dropped and
   * counted as fragment_reassembly_timeout. Returns how many there were.
   */
  finish(): number {
    const n = this.reassembly.clear();
    for (let i = 0; i < n; i++) this.anomalies.add(Anomaly.FragmentReassemblyTimeout, this.recordOffset);
    return n;
  }

  /** Datagrams whose fragments are still being collected (fragment_reassembly_timeout if they never complete). */
  pendingFragmentedDatagrams(): number {
    return this.reassembly.size;
  }

  private decodeIpv6(buf: Buffer, p: number, end: number, raw: RawPacket): boolean {
    const pkt = this.pkt;
    if (end - p < 40) return this.fail(Anomaly.TruncatedHeader);
    let payloadLen = u16(buf, p + 4);
    const wireLen = this.wireLen(raw, p);
    // Jumbogram / offload: take the wire length.
    if (payloadLen === 0) payloadLen = wireLen - 40;
    else if (40 + payloadLen > wireLen) {
      this.oversized(pkt);
      payloadLen = wireLen - 40;
    }
    this.ipv6++;
    pkt.ipVersion = 6;
    pkt.ipLen = 40 + payloadLen;
    const s = pkt.src6;
    const d = pkt.dst6;
    s[0] = u32(buf, p + 8);
    s[1] = u32(buf, p + 12);
    s[2] = u32(buf, p + 16);
    s[3] = u32(buf, p + 20);
    d[0] = u32(buf, p + 24);
    d[1] = u32(buf, p + 28);
    d[2] = u32(buf, p + 32);
    d[3] = u32(buf, p + 36);
    const ipEnd = p + 40 + payloadLen;
    const capEnd = ipEnd < end ? ipEnd : end;
    let nh = buf[p + 6];
    let q = p + 40;
    for (let n = 0; n < MAX_IPV6_EXTENSIONS; n++) {
      if (nh === 0 || nh === 43 || nh === 60 || nh === 135 || nh === 139 || nh === 140) {
        // hop-by-hop, routing, destination options, mobility, HIP, shim6: length in 8-octet units
        if (capEnd - q < 2) return this.fail(Anomaly.TruncatedIpv6Extension);
        nh = buf[q];
        q += (buf[q + 1] + 1) * 8;
      } else if (nh === 44) {
        if (capEnd - q < 8) return this.fail(Anomaly.TruncatedIpv6Extension);
        const fo = u16(buf, q + 2);
        nh = buf[q];
        q += 8;
        // An atomic fragment (offset 0, no more fragments, RFC 6946) is a whole packet.
        if ((fo & 0xfff9) !== 0) {
          pkt.fragment = true;
          this.fragments++;
          this.anomalies.add(Anomaly.IpFragment, this.recordOffset);
        }
        if ((fo & 0xfff8) !== 0) {
          pkt.protocol = nh;
          pkt.laterFragment = true;
          this.laterFragments++;
          this.nonTcp++;
          return false;
        }
      } else if (nh === 51) {
        // authentication header: length in 4-octet units, minus 2
        if (capEnd - q < 2) return this.fail(Anomaly.TruncatedIpv6Extension);
        nh = buf[q];
        q += (buf[q + 1] + 2) * 4;
      } else {
        break;
      }
    }
    pkt.protocol = nh;
    if (nh !== IPPROTO_TCP) {
      this.nonTcp++;
      return false;
    }
    if (q > ipEnd) return this.fail(Anomaly.BadIpTotalLength);
    return this.decodeTcp(buf, q, ipEnd - q, capEnd);
  }

  /** `q`: TCP header offset; `wireLen`: TCP header + payload length from the IP header; `capEnd`: end of captured IP bytes. */
  private decodeTcp(buf: Buffer, q: number, wireLen: number, capEnd: number): boolean {
    const pkt = this.pkt;
    if (capEnd - q < 20) return this.fail(Anomaly.TruncatedHeader);
    const hlen = (buf[q + 12] >> 4) * 4;
    if (hlen < 20 || hlen > wireLen) return this.fail(Anomaly.BadTcpOffset);
    pkt.srcPort = u16(buf, q);
    pkt.dstPort = u16(buf, q + 2);
    pkt.seq = u32(buf, q + 4);
    pkt.ack = u32(buf, q + 8);
    pkt.flags = buf[q + 13];
    pkt.window = u16(buf, q + 14);
    pkt.tcpHeaderLen = hlen;
    pkt.payloadLen = wireLen - hlen;
    const payOff = q + hlen;
    pkt.payloadOff = payOff;
    const capPay = capEnd - payOff;
    pkt.capturedPayloadLen = capPay <= 0 ? 0 : capPay < pkt.payloadLen ? capPay : pkt.payloadLen;

    pkt.mss = -1;
    pkt.wscale = -1;
    pkt.sackPermitted = false;
    pkt.sackBlocks = 0;
    pkt.hasTimestamps = false;
    pkt.tsVal = 0;
    pkt.tsEcr = 0;
    if (hlen > 20) {
      let optEnd = payOff;
      if (optEnd > capEnd) {
        optEnd = capEnd;
        pkt.anomaly = Anomaly.TruncatedTcpOptions;
        this.anomalies.add(Anomaly.TruncatedTcpOptions, this.recordOffset);
      }
      this.decodeOptions(buf, q + 20, optEnd);
    }
    pkt.tcp = true;
    this.tcpPackets++;
    return true;
  }

  private decodeOptions(buf: Buffer, o: number, end: number): void {
    const pkt = this.pkt;
    while (o < end) {
      const kind = buf[o];
      if (kind === 0) return; // end of option list
      if (kind === 1) {
        o++;
        continue;
      }
      if (end - o < 2) break;
      const len = buf[o + 1];
      if (len < 2 || o + len > end) break;
      switch (kind) {
        case 2:
          if (len === 4) pkt.mss = u16(buf, o + 2);
          break;
        case 3:
          if (len === 3) pkt.wscale = buf[o + 2];
          break;
        case 4:
          pkt.sackPermitted = true;
          break;
        case 5: {
          let n = (len - 2) >> 3;
          if (n > 4) n = 4;
          pkt.sackBlocks = n;
          for (let i = 0; i < n; i++) {
            pkt.sackLeft[i] = u32(buf, o + 2 + 8 * i);
            pkt.sackRight[i] = u32(buf, o + 6 + 8 * i);
          }
          break;
        }
        case 8:
          if (len === 10) {
            pkt.hasTimestamps = true;
            pkt.tsVal = u32(buf, o + 2);
            pkt.tsEcr = u32(buf, o + 6);
          }
          break;
        default:
          break;
      }
      o += len;
    }
    if (o < end && pkt.anomaly === 0) {
      pkt.anomaly = Anomaly.BadTcpOption;
      this.anomalies.add(Anomaly.BadTcpOption, this.recordOffset);
    }
  }
}
