import type { Database } from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION } from './schema';
import { StoreError } from './store-error';

/** Schema version recorded in the database (`PRAGMA user_version`). */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Bring the schema up to date, each migration in its own transaction together
 * with the new user_version, so a crash never leaves a half-migrated file.
 * Returns the versions applied.
 */
export function migrate(db: Database, file: string): number[] {
  const current = schemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new StoreError('too_new', `${file}: database schema version ${current} is newer than this wirestate understands (${SCHEMA_VERSION})`);
  }
  if (current === 0) {
    const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'`).get() as { n: number };
    if (tables.n > 0) throw new StoreError('not_wirestate', `${file}: not a wirestate database (it has tables but no schema version)`);
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current) {
      // Numbered below a migration that landed first (versions are handed out
      // in parallel): a database already past it may still lack it.
      if (current > 0 && m.appliedWhen !== undefined && db.prepare(m.appliedWhen).get() === undefined) {
        db.transaction(() => db.exec(m.sql))();
        applied.push(m.version);
      }
      continue;
    }
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
