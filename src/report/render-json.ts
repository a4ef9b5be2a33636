import type { Report } from './model';

/** `wirestate report --format json`: the report model as is, indented, one trailing newline. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
