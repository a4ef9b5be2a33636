import { formatDuration } from '../format-time';
import type { SampleLadder } from '../figures/figures';
import type { LadderPacket } from '../figures/sample-packets';
import { esc } from './html-escape';

/**
 * The ladder (sequence) diagram of one sample flow, as hand-made SVG (no
 * chart library draws one): client and server as vertical lines, each packet
 * an arrow from its sender to its receiver labelled with flags, relative
 * seq/ack and payload length, each side's state written beside its line
 * where it changes. Time runs downwards one row per event, not to scale: an
 * idle gap of a second or more is drawn as a break marked with its duration.
 */

const W = 760;
const LEFT = 200;
const RIGHT = 600;
const TOP = 58;
const ROW = 30;
const GAP_ROW = 34;
/** A pause between two events at least this long is drawn as a marked break. */
export const GAP_S = 1;

const FLAG_NAMES: [number, string][] = [
  [0x02, 'SYN'],
  [0x01, 'FIN'],
  [0x04, 'RST'],
  [0x08, 'PSH'],
  [0x10, 'ACK'],
  [0x20, 'URG'],
  [0x40, 'ECE'],
  [0x80, 'CWR'],
];

export function flagText(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  return names.length ? names.join(' ') : 'none';
}

function packetLabel(p: LadderPacket): string {
  return `${flagText(p.flags)}  seq=${p.relSeq}${p.relAck !== null ? ` ack=${p.relAck}` : ''} len=${p.len}`;
}

const STATE_COLOR: Record<string, string> = { CLOSE_WAIT: '#c62828', FIN_WAIT_2: '#d46a00', TIME_WAIT: '#555', LAST_ACK: '#8c564b', CLOSED: '#555' };

interface Row {
  ts: number;
  packet: LadderPacket | null;
  states: { endpoint: 'orig' | 'resp'; to: string; cause: string }[];
}

/** Packets and state changes as rows: a change at a packet's instant (to the microsecond) is written on that packet's row. */
function rows(l: SampleLadder): Row[] {
  const out: Row[] = l.packets.packets.map((p) => ({ ts: p.ts, packet: p, states: [] }));
  const alone: Row[] = [];
  const same = (a: number, b: number): boolean => Math.abs(a - b) <= 1.5e-6;
  let i = 0;
  for (const t of l.transitions) {
    while (i + 1 < out.length && out[i + 1].ts <= t.ts + 1.5e-6) i++;
    const last = alone[alone.length - 1];
    if (out[i] && same(out[i].ts, t.ts)) out[i].states.push(t);
    else if (last && same(last.ts, t.ts)) last.states.push(t);
    else alone.push({ ts: t.ts, packet: null, states: [t] });
  }
  // Stable: a packet row stays before a state-only row of the same instant.
  return [...out, ...alone].sort((a, b) => a.ts - b.ts);
}

export function ladderSvg(l: SampleLadder): string {
  const clientSide = l.client;
  const xOf = (e: 'orig' | 'resp'): number => (e === clientSide ? LEFT : RIGHT);
  const nameOf = (e: 'orig' | 'resp'): string => `${e === clientSide ? 'client' : 'server'} ${e === 'orig' ? l.orig : l.resp}`;
  const rs = rows(l);
  const t0 = rs.length ? rs[0].ts : 0;
  const parts: string[] = [];
  let y = TOP;
  let prev: number | null = null;
  for (const r of rs) {
    if (prev !== null && r.ts - prev >= GAP_S) {
      const gy = y + 4;
      const idle = r.ts - prev;
      parts.push(
        `<g class="gap" data-seconds="${idle.toFixed(6)}">` +
          [LEFT, RIGHT].map((x) => `<path d="M${x - 9},${gy + 6} l18,-5 M${x - 9},${gy + 13} l18,-5" stroke="#777" stroke-width="1.5"/>`).join('') +
          `<text x="${(LEFT + RIGHT) / 2}" y="${gy + 12}" text-anchor="middle" class="gap-label">${esc(formatDuration(idle))} with no packet (not to scale)</text></g>`,
      );
      y += GAP_ROW;
    }
    prev = r.ts;
    parts.push(`<text x="8" y="${y + 8}" class="time">+${(r.ts - t0).toFixed(6)} s</text>`);
    if (r.packet) {
      const p = r.packet;
      const x1 = xOf(p.from);
      const x2 = xOf(p.from === 'orig' ? 'resp' : 'orig');
      const dir = x2 > x1 ? 1 : -1;
      const y2 = y + 14;
      const label = packetLabel(p);
      const cls = p.flags & 0x04 ? 'packet rst' : p.flags & 0x03 ? 'packet synfin' : 'packet';
      parts.push(
        `<g class="${cls}" role="graphics-symbol" aria-label="${esc(`${nameOf(p.from)}: ${label}`)}" data-from="${p.from}" data-flags="${esc(flagText(p.flags))}" data-seq="${p.relSeq}" data-len="${p.len}">` +
          `<line x1="${x1}" y1="${y}" x2="${x2 - dir * 7}" y2="${y2 - 0.25 * 7}"/>` +
          `<path d="M${x2},${y2} l${-dir * 9},-6 l0,9 z"/>` +
          `<text x="${(LEFT + RIGHT) / 2}" y="${y + 3}" text-anchor="middle">${esc(label)}</text></g>`,
      );
    }
    const stacked = { orig: 0, resp: 0 };
    for (const s of r.states) {
      const x = xOf(s.endpoint);
      const left = x === LEFT;
      const sy = y + 14 + 12 * stacked[s.endpoint]++;
      parts.push(
        `<text class="state" data-endpoint="${s.endpoint}" data-state="${esc(s.to)}" x="${left ? x - 10 : x + 10}" y="${sy}" ` +
          `text-anchor="${left ? 'end' : 'start'}" fill="${STATE_COLOR[s.to] ?? '#1f4e9c'}"><title>${esc(s.cause)}</title>${esc(s.to)}</text>`,
      );
    }
    // Room for every state label written on this row.
    y += Math.max(ROW, 18 + 12 * Math.max(stacked.orig, stacked.resp));
  }
  const h = y + 16;
  const n = l.packets.packets.length;
  const head =
    `<text x="${LEFT}" y="20" text-anchor="middle" class="end-name">${esc(nameOf(clientSide))}</text>` +
    `<text x="${RIGHT}" y="20" text-anchor="middle" class="end-name">${esc(nameOf(clientSide === 'orig' ? 'resp' : 'orig'))}</text>` +
    `<line class="lifeline" x1="${LEFT}" y1="30" x2="${LEFT}" y2="${h - 8}"/><line class="lifeline" x1="${RIGHT}" y1="30" x2="${RIGHT}" y2="${h - 8}"/>`;
  return (
    `<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" role="img" ` +
    `aria-label="${esc(`Ladder diagram of flow ${l.flowId}: ${n} packets`)}" data-flow-id="${l.flowId}" data-packets="${n}">` +
    head +
    parts.join('') +
    `</svg>`
  );
}
