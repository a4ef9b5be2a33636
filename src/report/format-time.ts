/** Human formatting of seconds and Unix timestamps for reports. */

/** A duration for people: "40 µs", "2.5 ms", "395 ms", "1.4 s", "65.0 s", "42 min 5 s", "3 h 12 min", "2 d 4 h". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 0) return `-${formatDuration(-s)}`;
  // Below a second, milliseconds: "0.0 s" would hide the difference between an immediate close and a 0.4 s one.
  if (s < 0.0009995) return `${Math.round(s * 1e6)} µs`;
  if (s < 0.0095) return `${(s * 1000).toFixed(1)} ms`;
  if (s < 0.9995) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  const two = (a: number, ua: string, b: number, ub: string) => (b === 0 ? `${a} ${ua}` : `${a} ${ua} ${b} ${ub}`);
  if (total < 7200) return two(Math.floor(total / 60), 'min', total % 60, 's');
  if (total < 172800) return two(Math.floor(total / 3600), 'h', Math.floor((total % 3600) / 60), 'min');
  return two(Math.floor(total / 86400), 'd', Math.floor((total % 86400) / 3600), 'h');
}

/**
 * True when `tsS` (Unix seconds) can be written as an ISO date with a
 * four-digit year (0000..9999). A Date throws on toISOString beyond
 * ±100,000,000 days, and times reach these formatters from databases of any
 * version: each formatter checks, and prints '?' (or null) rather than throw.
 */
export function printableTs(tsS: number | null): tsS is number {
  return tsS !== null && Number.isFinite(tsS) && tsS >= -62167219200 && tsS < 253402300800;
}

/** "2026-11-27 04:51:06 UTC" (`ms` adds milliseconds); '?' for a time no date can hold. */
export function formatTs(tsS: number | null, ms = false): string {
  if (!printableTs(tsS)) return '?';
  const iso = new Date(Math.round(tsS * 1000)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, ms ? 23 : 19)} UTC`;
}

/** "2026-11-27 05:19:15 to 05:20:28 UTC": the date once when both ends share it (report header, ingest summary). */
export function formatSpan(aS: number | null, bS: number | null): string {
  const x = formatTs(aS);
  const y = formatTs(bS);
  return x.slice(0, 10) === y.slice(0, 10) && x !== '?' ? `${x.slice(0, -4)} to ${y.slice(11)}` : `${x} to ${y}`;
}

/** Unix seconds → ISO 8601 with microseconds, for JSON; null for a time no date can hold. */
export function isoTs(tsS: number | null): string | null {
  if (!printableTs(tsS)) return null;
  const whole = Math.floor(tsS);
  const us = Math.round((tsS - whole) * 1e6);
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  return `${base}.${String(us === 1e6 ? 999999 : us).padStart(6, '0')}Z`;
}
