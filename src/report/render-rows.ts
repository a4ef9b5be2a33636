/** Rows as a table, JSON, CSV or NDJSON: what `query` and `flows` print. */

export type RowFormat = 'table' | 'json' | 'csv' | 'ndjson';
export const ROW_FORMATS: readonly RowFormat[] = ['table', 'json', 'csv', 'ndjson'];

export type Cell = string | number | bigint | null | Buffer | boolean;

/** Table-only presentation: how NULL reads, and numeric columns shown with a fixed number of decimals. */
export interface TableStyle {
  nullText?: string;
  decimals?: Record<string, number>;
}

function cellText(v: Cell, style: TableStyle, decimals: number | undefined): string {
  if (v === null || v === undefined) return style.nullText ?? 'NULL';
  if (Buffer.isBuffer(v)) return `x'${v.toString('hex')}'`;
  if (decimals !== undefined && typeof v === 'number') return v.toFixed(decimals);
  // Times in the database are microseconds: a difference like 2.9650399684906006 is float noise past the 6th decimal.
  if (typeof v === 'number' && !Number.isInteger(v) && Math.abs(v) < 1e15) return String(Number(v.toFixed(6)));
  return String(v);
}

function jsonValue(v: Cell): unknown {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  return v;
}

function csvField(v: Cell): string {
  if (v === null || v === undefined) return '';
  const s = Buffer.isBuffer(v) ? v.toString('hex') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toObject(columns: readonly string[], row: readonly Cell[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]] = jsonValue(row[i]);
  return o;
}

/** Render all rows at once (table needs every width before the first line). */
export function renderRows(columns: readonly string[], rows: readonly (readonly Cell[])[], format: RowFormat, style: TableStyle = {}): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows.map((r) => toObject(columns, r)), null, 2)}\n`;
    case 'ndjson':
      return rows.map((r) => `${JSON.stringify(toObject(columns, r))}\n`).join('');
    case 'csv':
      return [columns.map((c) => csvField(c)).join(','), ...rows.map((r) => r.map(csvField).join(','))].map((l) => `${l}\r\n`).join('');
    case 'table':
      return renderTable(columns, rows, style);
  }
}

/** Decimals (at most 6) a column of numbers needs so its decimal points line up; undefined for whole numbers. */
function columnDecimals(rows: readonly (readonly Cell[])[], i: number): number | undefined {
  let dec = 0;
  for (const r of rows) {
    const v = r[i];
    if (typeof v !== 'number' || Number.isInteger(v) || Math.abs(v) >= 1e15) continue;
    const t = String(Number(v.toFixed(6)));
    const dot = t.indexOf('.');
    if (dot >= 0 && !t.includes('e')) dec = Math.max(dec, t.length - dot - 1);
  }
  return dec > 0 ? dec : undefined;
}

function renderTable(columns: readonly string[], rows: readonly (readonly Cell[])[], style: TableStyle): string {
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === 'number' || typeof r[i] === 'bigint'));
  const decimals = columns.map((c, i) => style.decimals?.[c] ?? (numeric[i] ? columnDecimals(rows, i) : undefined));
  const text = rows.map((r) => r.map((v, i) => cellText(v, style, decimals[i])));
  const widths = columns.map((c) => c.length);
  for (const r of text) for (let i = 0; i < r.length; i++) if (r[i].length > widths[i]) widths[i] = r[i].length;
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)];
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return `${out.join('\n')}\n`;
}
