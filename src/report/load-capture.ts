import type { Database } from 'better-sqlite3';
import { isoTs } from './format-time';
import type { ReportCapture } from './model';
import { lossPercent } from './capture-loss';

/** The capture a report is about: its files, times, counts and anomalies, as stored. */
export function loadCapture(db: Database, id: number): ReportCapture {
  const c = db.prepare('SELECT * FROM captures WHERE id = ?').get(id) as Record<string, any> | undefined;
  if (!c) throw new Error(`no capture with id ${id}`);
  const files = db
    .prepare('SELECT path, sha256, truncated, damage FROM capture_files WHERE capture_id = ? ORDER BY seq')
    .all(id) as { path: string; sha256: string; truncated: number; damage: string | null }[];
  const anomalies: Record<string, number> = {};
  for (const a of db.prepare('SELECT name, sum(count) AS n FROM anomalies WHERE capture_id = ? GROUP BY name ORDER BY name').all(id) as {
    name: string;
    n: number;
  }[]) {
    anomalies[a.name] = a.n;
  }
  const end = db.prepare('SELECT end_ts FROM capture_end WHERE capture_id = ?').get(id) as { end_ts: number | null };
  const first = c.first_ts ?? (db.prepare('SELECT min(first_ts) AS t FROM flows WHERE capture_id = ?').get(id) as { t: number | null }).t;
  const flows = (db.prepare('SELECT count(*) AS n FROM flows WHERE capture_id = ?').get(id) as { n: number }).n;
  return {
    id,
    source: c.source,
    kind: c.kind,
    completed: c.completed === 1,
    format: c.format,
    linktypes: typeof c.linktypes === 'string' && c.linktypes !== '' ? c.linktypes.split(',').map(Number) : [],
    files: files.map((f) => ({ path: f.path, sha256: f.sha256, truncated: f.truncated === 1, damage: f.damage })),
    firstTs: isoTs(first),
    lastTs: isoTs(end.end_ts),
    durationS: first !== null && end.end_ts !== null ? end.end_ts - first : null,
    packets: c.packets,
    tcpPackets: c.tcp_packets,
    flows,
    truncated: c.truncated === 1,
    damage: c.damage,
    drops: c.drops,
    anomalies,
    captureLoss:
      typeof c.loss_acked_bytes === 'number' && typeof c.loss_gap_bytes === 'number'
        ? { ackedBytes: c.loss_acked_bytes, gapBytes: c.loss_gap_bytes, percent: lossPercent({ ackedBytes: c.loss_acked_bytes, gapBytes: c.loss_gap_bytes }) }
        : null,
  };
}

/** When the capture ends (the capture_end view: its last packet, or the live capture's last flush). */
export function captureEndTs(db: Database, id: number): number | null {
  return (db.prepare('SELECT end_ts FROM capture_end WHERE capture_id = ?').get(id) as { end_ts: number | null }).end_ts;
}
