import os from 'node:os';
import { clickhouseTarget, exportFailure, hostLabel } from './clickhouse-target';
import { ClickHouseSink, LiveExporter, type ExportStatus } from '../export';
import type { FlushListener } from '../pipeline/live-pipeline';

/** `live --export`: the exporter of the running capture, as the live command drives it. */
export interface LiveExport {
  /** Handed to the pipeline before it starts (forwards to the exporter once attached). */
  relay: FlushListener;
  attach(dbPath: string, captureId: number): void;
  status(): ExportStatus | null;
  /** After the capture stopped: send the rest (bounded wait); the line to print. */
  finish(waitMs: number): Promise<{ complete: boolean; text: string }>;
  abandon(): Promise<void>;
}

/** "export lag 1.2 s" / "export waiting (…): 340 flows behind", for the status line. */
export function exportStatusText(s: ExportStatus | null): string {
  if (s === null) return '';
  if (s.state === 'waiting') return `export waiting, ${s.pendingFlows} flows behind, lag ${s.lagS.toFixed(0)} s`;
  return `export lag ${s.lagS.toFixed(1)} s`;
}

/**
 * Check the URL and the server before the capture starts: a bad URL, wrong
 * credentials, a missing database or missing tables stop here with one
 * line; an unreachable server only warns (the capture goes to SQLite and
 * the export catches up once the server answers).
 */
export async function startLiveExport(url: string, label: string | undefined, quiet: boolean): Promise<LiveExport> {
  const target = clickhouseTarget(url);
  const host = hostLabel(label, os.hostname());
  const sink = new ClickHouseSink(target, { requestTimeoutMs: 10000 });
  const say = (line: string) => {
    if (!quiet) process.stderr.write(`wirestate: ${line}\n`);
  };
  try {
    await sink.version();
    await sink.select('SELECT count() AS n FROM flows WHERE 0');
  } catch (err) {
    const e = exportFailure(err);
    const transient = (err as { transient?: boolean }).transient === true;
    if (!transient) {
      await sink.close();
      throw e;
    }
    say(`export: ${(err as Error).message}; capturing to SQLite, the export catches up once it answers`);
  }
  let exporter: LiveExporter | null = null;
  let captureId = 0;
  let dbPath = '';
  return {
    relay: {
      noteFlows: (uids) => exporter?.noteFlows(uids),
      flushed: (ts) => exporter?.flushed(ts),
    },
    attach(db, id) {
      dbPath = db;
      captureId = id;
      exporter = new LiveExporter({
        sink,
        dbPath: db,
        captureId: id,
        host,
        onStateChange: (s) =>
          say(s.state === 'waiting' ? `export: ${s.error}; capture goes on to SQLite, retrying` : `export: ${target.display} answers again, catching up`),
      });
    },
    status: () => exporter?.status() ?? null,
    async finish(waitMs) {
      if (exporter === null) return { complete: false, text: 'export: nothing to send' };
      const s = await exporter.finish(waitMs);
      if (s.complete) return { complete: true, text: `export: capture ${captureId} all sent to ${target.display} as ${host} (${s.flowsSent} flow rows in ${s.inserts} inserts)` };
      return {
        complete: false,
        text: `wirestate: export: capture ${captureId} not all sent to ${target.display}${s.error ? ` (${s.error.replace(`${target.display}: `, '')})` : ''}; it is safe in ${dbPath}: send the rest with: wirestate export --db ${dbPath} --to ${target.display} --capture ${captureId}${label !== undefined ? ` --host-label ${host}` : ''}`,
      };
    },
    async abandon() {
      if (exporter === null) await sink.close();
      else await exporter.finish(0);
    },
  };
}
