import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * Every table of a wirestate database as text, for before/after comparisons
 * of a change that must not change the output: the schema (sqlite_master,
 * by name), then each table's rows in rowid order, one line per row, values
 * as SQLite returns them. captures.ingested_at (the wall clock at ingest) is
 * left out.
 * Usage: node dist/bench/dump-db.js DB [--sha]   (--sha: one sha256 per table instead of the rows)
 */
export function dumpDatabase(file: string, onLine: (table: string, line: string) => void): void {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const objects = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").all() as { type: string; name: string; sql: string | null }[];
    for (const o of objects) onLine('sqlite_master', `${o.type} ${o.name} ${o.sql ?? ''}`);
    for (const o of objects) {
      if (o.type !== 'table') continue;
      const cols = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(o.name) as { name: string }[])
        .map((c) => c.name)
        .filter((c) => !(o.name === 'captures' && c === 'ingested_at'));
      const stmt = db.prepare(`SELECT ${cols.map((c) => `"${c}"`).join(', ')} FROM "${o.name}" ORDER BY rowid`).raw();
      for (const row of stmt.iterate() as Iterable<unknown[]>) onLine(o.name, JSON.stringify(row));
    }
  } finally {
    db.close();
  }
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: dump-db DB [--sha]\n');
    process.exit(2);
  }
  if (process.argv.includes('--sha')) {
    const hashes = new Map<string, { h: ReturnType<typeof createHash>; n: number }>();
    dumpDatabase(file, (t, line) => {
      let e = hashes.get(t);
      if (!e) hashes.set(t, (e = { h: createHash('sha256'), n: 0 }));
      e.h.update(line + '\n');
      e.n++;
    });
    for (const [t, e] of hashes) process.stdout.write(`${t} ${e.n} ${e.h.digest('hex')}\n`);
  } else {
    dumpDatabase(file, (t, line) => process.stdout.write(`${t}\t${line}\n`));
  }
}
