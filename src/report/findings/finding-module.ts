import type { Database } from 'better-sqlite3';
import type { Finding, ReportCapture } from '../model';
import type { Thresholds } from '../thresholds';
import type { MidstreamRoles } from '../role-inference';

/** What every finding module gets: the database and what the model already loaded about the capture. */
export interface ReportContext {
  db: Database;
  captureId: number;
  capture: ReportCapture;
  /** The capture's end (capture_end view), epoch seconds; null when it holds no packet. */
  endTs: number | null;
  thresholds: Thresholds;
  /** Client/server of mid-stream flows as fan-in decided them. */
  roles: MidstreamRoles;
}

/**
 * One kind of finding: computes its findings for a capture from the database
 * only. Registered by one line in `findings/index.ts`; the list's order is
 * the report's order among findings of equal severity.
 */
export interface FindingModule {
  kind: Finding['kind'];
  build(ctx: ReportContext): Finding[];
}
