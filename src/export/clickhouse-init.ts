import { ClickHouseSink, parseServerVersion } from './clickhouse-sink';
import { requireFeature, schemaStatements, TABLES, VIEWS, type SchemaOptions } from './clickhouse-schema';
import type { ClickHouseTarget } from './clickhouse-url';

export interface InitResult {
  serverVersion: string;
  tables: string[];
  views: string[];
  createdDatabase: boolean;
}

/**
 * Create (if missing) the tables and (again) the views in the target
 * database; with `createDatabase` the database too. Checks the server
 * version before any statement that needs a newer one.
 */
export async function initClickHouse(target: ClickHouseTarget, opts: SchemaOptions & { createDatabase?: boolean } = {}): Promise<InitResult> {
  let createdDatabase = false;
  if (opts.createDatabase) {
    const root = new ClickHouseSink({ ...target, database: 'default' });
    try {
      const exists = await root.select<{ n: number | string }>(`SELECT count() AS n FROM system.databases WHERE name = '${target.database}'`);
      if (Number(exists[0]?.n ?? 0) === 0) {
        await root.command(`CREATE DATABASE IF NOT EXISTS ${target.database}`);
        createdDatabase = true;
      }
    } finally {
      await root.close();
    }
  }
  const sink = new ClickHouseSink(target);
  try {
    const version = await sink.version();
    if (opts.ttlDays !== undefined) requireFeature(version, parseServerVersion(version), 'ttl', target.display);
    for (const q of schemaStatements(opts)) await sink.command(q);
    return { serverVersion: version, tables: TABLES.map((t) => t.name), views: VIEWS.map(([n]) => n), createdDatabase };
  } finally {
    await sink.close();
  }
}
