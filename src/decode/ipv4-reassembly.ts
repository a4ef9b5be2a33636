/**
 * Collects the fragments of IPv4 datagrams that carry TCP until each datagram
 * is whole, so the decoder can hand the TCP engine one segment with the
 * datagram's full payload length. Fragments are rare: a small table, one
 * object per datagram being collected, bounded in size and in time.
 *
 * Only lengths are tracked (from the IP headers, so fragments cut by the
 * snaplen still count whole); the only bytes kept are a copy of the first
 * fragment's IP and TCP headers, since the packet buffer is borrowed.
 */

/** A datagram still incomplete this long (capture time) after its first fragment is dropped. Linux's ipfrag_time is 30 s. */
export const FRAGMENT_TIMEOUT_US = 30_000_000;
/** At most this many datagrams are collected at once; the oldest is dropped to make room. */
export const MAX_PENDING_DATAGRAMS = 1024;
/** A datagram whose received data is split into more separate pieces than this is dropped (bounds the memory per datagram). */
export const MAX_FRAGMENT_GAPS = 64;
/** Bytes of TCP header kept from the first fragment (the largest TCP header). */
const MAX_TCP_HEADER = 60;

class PendingDatagram {
  /** Copy of the first fragment from its IP header on: IP header + up to 60 bytes of TCP header; null until it arrives. */
  head: Buffer | null = null;
  ihl = 0;
  /** Bytes after the IP header in the whole datagram; -1 until the last fragment (MF clear) arrives. */
  dataLen = -1;
  /** Received ranges of the datagram's data [starts[i], ends[i]), sorted, merged. */
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  constructor(readonly firstTsUs: number) {}

  /** Record [s, e); returns true when it overlaps what was already received. */
  addRange(s: number, e: number): boolean {
    const starts = this.starts;
    const ends = this.ends;
    let i = 0;
    while (i < starts.length && ends[i] < s) i++;
    // ranges from i on end at or after s; merge every one that touches [s, e)
    let overlap = false;
    let j = i;
    let ns = s;
    let ne = e;
    while (j < starts.length && starts[j] <= e) {
      if (starts[j] < e && ends[j] > s) overlap = true;
      if (starts[j] < ns) ns = starts[j];
      if (ends[j] > ne) ne = ends[j];
      j++;
    }
    starts.splice(i, j - i, ns);
    ends.splice(i, j - i, ne);
    return overlap;
  }

  complete(): boolean {
    return this.head !== null && this.dataLen >= 0 && this.starts.length === 1 && this.starts[0] === 0 && this.ends[0] === this.dataLen;
  }
}

export class Ipv4Reassembly {
  private readonly pending = new Map<string, PendingDatagram>();

  // Results of the last add():
  /** Datagrams dropped unfinished (timed out, evicted to make room, or in too many pieces). */
  expired = 0;
  /** The fragment overlapped data already received, or disagreed about the datagram's length. */
  overlap = false;
  /** When add() returned true: the first fragment's IP + TCP header bytes (IP header at 0), its IP header length, and the datagram's data length. */
  head: Buffer = Buffer.alloc(0);
  ihl = 0;
  dataLen = 0;

  /** Datagrams being collected. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Add one fragment: `key` names the datagram (addresses, id, protocol...),
   * `offset`/`len` the data it holds (bytes after the IP header), `more` its
   * MF flag; `buf[p..end)` is the captured fragment from its IP header of
   * length `ihl`. Returns true when this fragment completed the datagram (its
   * results are then in head/ihl/dataLen and it is forgotten).
   */
  add(key: string, tsUs: number, offset: number, len: number, more: boolean, buf: Buffer, p: number, ihl: number, end: number): boolean {
    this.expired = 0;
    this.overlap = false;
    const pending = this.pending;
    // Insertion order is capture order: the oldest datagrams come first.
    for (const [k, d] of pending) {
      if (tsUs - d.firstTsUs <= FRAGMENT_TIMEOUT_US) break;
      pending.delete(k);
      this.expired++;
    }
    let d = pending.get(key);
    if (d === undefined) {
      if (pending.size >= MAX_PENDING_DATAGRAMS) {
        const oldest = pending.keys().next().value as string;
        pending.delete(oldest);
        this.expired++;
      }
      d = new PendingDatagram(tsUs);
      pending.set(key, d);
    }
    const e = offset + len;
    if (!more) {
      if (d.dataLen >= 0 && d.dataLen !== e) this.overlap = true;
      d.dataLen = e;
    }
    if (d.dataLen >= 0 && e > d.dataLen) this.overlap = true;
    if (len > 0 && d.addRange(offset, e)) this.overlap = true;
    if (d.starts.length > MAX_FRAGMENT_GAPS) {
      pending.delete(key);
      this.expired++;
      return false;
    }
    if (offset === 0 && d.head === null) {
      const headEnd = Math.min(end, p + ihl + MAX_TCP_HEADER);
      d.head = Buffer.from(buf.subarray(p, headEnd));
      d.ihl = ihl;
    }
    if (!d.complete()) return false;
    pending.delete(key);
    this.head = d.head as Buffer;
    this.ihl = d.ihl;
    this.dataLen = d.dataLen;
    return true;
  }

  /** Forget every datagram being collected; returns how many there were. */
  clear(): number {
    const n = this.pending.size;
    this.pending.clear();
    return n;
  }
}
