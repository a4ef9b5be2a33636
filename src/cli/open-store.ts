import type { Statement } from 'better-sqlite3';
import { FlowStore } from '../store/flow-store';
import { StoreError } from '../store/store-error';
import { CliError } from './cli-error';

/** Open the database read-only for query/report/flows; store problems become one-line CLI errors. */
export function openStoreForReading(dbPath: string): FlowStore {
  try {
    return FlowStore.open(dbPath, { readonly: true });
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message, err.code === 'missing' ? 1 : 2);
    throw err;
  }
}

/** Open (creating/migrating) the database for ingest. */
export function openStoreForWriting(dbPath: string): FlowStore {
  try {
    return FlowStore.open(dbPath);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** Prepare one SQL statement; SQLite's complaint becomes a one-line error (exit 2) starting with `label`. */
export function prepareStatement(store: FlowStore, sql: string, label: string): Statement {
  try {
    return store.db.prepare(sql);
  } catch (err) {
    throw new CliError(`${label}: ${(err as Error).message}`, 2);
  }
}

/** Run a prepared row-returning statement: column names and rows as arrays (what query and flows print). */
export function readRows<C>(stmt: Statement, params: readonly unknown[], label: string): { columns: string[]; rows: C[][] } {
  try {
    const columns = stmt.columns().map((c) => c.name);
    const rows = stmt.raw(true).all(...params) as C[][];
    return { columns, rows };
  } catch (err) {
    throw new CliError(`${label}: ${(err as Error).message}`, 2);
  }
}
