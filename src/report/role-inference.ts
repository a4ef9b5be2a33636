import type { Database } from 'better-sqlite3';

/**
 * Client and server of connections picked up mid-stream (no handshake seen),
 * decided by fan-in across the whole capture: the endpoint (address, port)
 * that recurs in many connections while the other side's ports vary is the
 * service. The engine's stored orig/resp for such flows come from a port
 * guess (Zeek-style) and stay as they are; the report reads them through this.
 */
export interface MidstreamRoles {
  /** Mid-stream flows whose stored orig is in fact the service (the port guess was backwards). */
  swapped: Set<number>;
  /** Mid-stream flows whose roles fan-in decided (swapped or confirmed). */
  inferred: Set<number>;
}

export const NO_ROLES: MidstreamRoles = { swapped: new Set(), inferred: new Set() };

export function inferMidstreamRoles(db: Database, capId: number): MidstreamRoles {
  const mid = (db.prepare('SELECT count(*) AS n FROM flows WHERE capture_id = ? AND midstream = 1').get(capId) as { n: number }).n;
  if (mid === 0) return NO_ROLES;
  // How many connections each endpoint takes part in, over every flow of the capture.
  const uses = new Map<string, number>();
  const rows = db
    .prepare('SELECT id, orig_h, orig_p, resp_h, resp_p, midstream FROM flows WHERE capture_id = ?')
    .raw()
    .iterate(capId) as IterableIterator<[number, string, number, string, number, number]>;
  const midRows: [number, string, string][] = [];
  for (const [id, oh, op, rh, rp, m] of rows) {
    const o = `${oh}|${op}`;
    const r = `${rh}|${rp}`;
    uses.set(o, (uses.get(o) ?? 0) + 1);
    uses.set(r, (uses.get(r) ?? 0) + 1);
    if (m === 1) midRows.push([id, o, r]);
  }
  const swapped = new Set<number>();
  const inferred = new Set<number>();
  for (const [id, o, r] of midRows) {
    const no = uses.get(o) ?? 0;
    const nr = uses.get(r) ?? 0;
    if (no >= 2 && no > nr) {
      swapped.add(id);
      inferred.add(id);
    } else if (nr >= 2 && nr > no) {
      inferred.add(id);
    }
  }
  return { swapped, inferred };
}
