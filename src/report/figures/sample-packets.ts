import fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import { readCapture } from '../../source/read-capture';
import { Decoder } from '../../decode/decoder';
import { ipv4Text, ipv6Text } from '../../flow/address-text';
import type { FlowsRow } from '../../store/flows-row';

/** One packet of a sample flow, as the ladder diagram draws it. */
export interface LadderPacket {
  /** Epoch seconds. */
  ts: number;
  /** The side that sent it (the flow's stored orig/resp). */
  from: 'orig' | 'resp';
  /** TCP flag byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, ...). */
  flags: number;
  /** Sequence and acknowledgment numbers relative to each side's first sequence number seen (as Wireshark shows them). */
  relSeq: number;
  /** Null when the ACK flag is off or the peer's first sequence number is not known yet. */
  relAck: number | null;
  /** Payload bytes on the wire. */
  len: number;
}

/** The packets of one flow read back from the capture file, or why they could not be. */
export interface SamplePackets {
  packets: LadderPacket[];
  /** Packets of the flow beyond the first `packets.length` (the ladder is bounded). */
  more: number;
  /** Null when the packets were read; otherwise why not (file missing, changed since ingest). */
  missing: string | null;
}

/** A ladder shows at most this many packets of a flow; beyond that it says how many more. */
export const MAX_LADDER_PACKETS = 200;

type FlowKey = Pick<FlowsRow, 'id' | 'orig_h' | 'orig_p' | 'resp_h' | 'resp_p' | 'first_ts' | 'last_ts'>;

/**
 * Re-read the capture's files for the packets of a few flows (the findings'
 * sample flows): the database keeps flows and transitions, not packets. A
 * file is used only when it is still where it was ingested from (the path as
 * given then, from the current directory), has the stored size and, after
 * reading, the stored sha256; otherwise every flow gets `missing` and the
 * ladder is drawn from the transitions alone. One pass over each file; a
 * flow is matched by its addresses, ports and time span (a reused 4-tuple is
 * a different flow).
 */
export async function readSamplePackets(db: Database, captureId: number, flowIds: readonly number[]): Promise<Map<number, SamplePackets>> {
  const out = new Map<number, SamplePackets>();
  if (flowIds.length === 0) return out;
  const flows = flowIds
    .map((id) => db.prepare('SELECT id, orig_h, orig_p, resp_h, resp_p, first_ts, last_ts FROM flows WHERE id = ?').get(id) as FlowKey | undefined)
    .filter((f): f is FlowKey => f !== undefined);
  const files = db.prepare('SELECT path, sha256, size FROM capture_files WHERE capture_id = ? ORDER BY seq').all(captureId) as {
    path: string;
    sha256: string;
    size: number | null;
  }[];
  const problem = checkFiles(files);
  for (const f of flows) out.set(f.id, { packets: [], more: 0, missing: problem });
  if (problem !== null) return out;

  // Flows by "port|port" of either direction, for a cheap first test per packet.
  const byPorts = new Map<string, FlowKey[]>();
  for (const f of flows) {
    for (const k of [`${f.orig_p}|${f.resp_p}`, `${f.resp_p}|${f.orig_p}`]) {
      const list = byPorts.get(k) ?? [];
      if (!list.includes(f)) list.push(f);
      byPorts.set(k, list);
    }
  }
  const isn = new Map<number, { orig: number | null; resp: number | null }>();
  for (const file of files) {
    const dec = new Decoder();
    const pkt = dec.pkt;
    let res: Awaited<ReturnType<typeof readCapture>>;
    try {
      res = await readCapture(
        file.path,
        (raw) => {
          if (!dec.decode(raw) || !pkt.tcp) return;
          const cands = byPorts.get(`${pkt.srcPort}|${pkt.dstPort}`);
          if (cands === undefined) return;
          const ts = raw.tsUs / 1e6;
          const src = pkt.ipVersion === 4 ? ipv4Text(pkt.src4) : ipv6Text(pkt.src6);
          const dst = pkt.ipVersion === 4 ? ipv4Text(pkt.dst4) : ipv6Text(pkt.dst6);
          for (const f of cands) {
            // Stored times are microseconds as REAL: allow for the rounding.
            if (ts < f.first_ts - 1e-6 || ts > f.last_ts + 1e-6) continue;
            const from =
              src === f.orig_h && pkt.srcPort === f.orig_p && dst === f.resp_h && pkt.dstPort === f.resp_p
                ? 'orig'
                : src === f.resp_h && pkt.srcPort === f.resp_p && dst === f.orig_h && pkt.dstPort === f.orig_p
                  ? 'resp'
                  : null;
            if (from === null) continue;
            const s = out.get(f.id)!;
            const base = isn.get(f.id) ?? { orig: null, resp: null };
            isn.set(f.id, base);
            if (base[from] === null) base[from] = pkt.seq;
            if (s.packets.length >= MAX_LADDER_PACKETS) {
              s.more++;
              continue;
            }
            const peer = base[from === 'orig' ? 'resp' : 'orig'];
            s.packets.push({
              ts,
              from,
              flags: pkt.flags,
              relSeq: (pkt.seq - base[from]!) >>> 0,
              relAck: pkt.flags & 0x10 && peer !== null ? (pkt.ack - peer) >>> 0 : null,
              len: pkt.payloadLen,
            });
          }
        },
        { hash: true },
      );
    } catch (e) {
      const why = `${file.path} could not be read again: ${(e as Error).message}`;
      for (const f of flows) out.set(f.id, { packets: [], more: 0, missing: why });
      return out;
    }
    if (res.sha256 !== file.sha256) {
      const why = `${file.path} changed since it was ingested (sha256 differs)`;
      for (const f of flows) out.set(f.id, { packets: [], more: 0, missing: why });
      return out;
    }
  }
  return out;
}

/** Why the capture's files cannot be re-read, or null when each is there with its stored size. */
function checkFiles(files: readonly { path: string; size: number | null }[]): string | null {
  if (files.length === 0) return 'the capture has no file (live capture without -w)';
  for (const f of files) {
    if (f.path === '-') return 'the capture was read from standard input';
    let st: fs.Stats;
    try {
      st = fs.statSync(f.path);
    } catch {
      return `${f.path} is not there any more (paths are as given at ingest, from the current directory)`;
    }
    if (f.size !== null && st.size !== f.size) return `${f.path} changed since it was ingested (${st.size} bytes, ${f.size} then)`;
  }
  return null;
}
