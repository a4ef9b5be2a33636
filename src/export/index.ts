export { parseClickHouseUrl, type ClickHouseTarget } from './clickhouse-url';
export { ExportError, type ExportErrorCode } from './export-error';
export { ClickHouseSink, classifyError, parseServerVersion, versionAtLeast } from './clickhouse-sink';
export { schemaStatements, TABLES, VIEWS, type SchemaOptions } from './clickhouse-schema';
export { exportCapture, DEFAULT_BATCH_ROWS, type CaptureExportResult } from './capture-export';
export { exportLags, readCursor, type ExportCursor, type ExportLag } from './export-cursor';
export { LiveExporter, type ExportStatus, type LiveExporterOptions } from './live-exporter';
export { initClickHouse, type InitResult } from './clickhouse-init';
export { readFleet } from './fleet-query';
