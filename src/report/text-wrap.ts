/** Units that stay on the line of the number before them ("65.0 s", "12 %"). */
const UNIT = /^(s|ms|µs|min|h|d|kB|MB|GB|%)[.,;:)]*$/;

/** Word-wrap `text` to `width` columns; every line starts with `indent`, the first with `first` if given. */
export function wrap(text: string, width: number, indent: string, first = indent): string[] {
  const words: string[] = [];
  for (const w of text.split(/\s+/)) {
    if (w === '') continue;
    // Never break between a number and its unit.
    if (UNIT.test(w) && words.length > 0 && /\d$/.test(words[words.length - 1])) words[words.length - 1] += ` ${w}`;
    else words.push(w);
  }
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const w of words) {
    if (!empty && line.length + 1 + w.length > width) {
      lines.push(line);
      line = indent + w;
    } else {
      line = empty ? line + w : `${line} ${w}`;
    }
    empty = false;
  }
  if (!empty || lines.length === 0) lines.push(line);
  return lines;
}
