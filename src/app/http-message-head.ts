import { M_OTHER, METHODS } from './http-facts';

/**
 * One HTTP/1.x message head (start line + header fields, RFC 9112) read from
 * bytes in place: the values the flow facts and the body framing need are
 * left as numbers and offsets in ONE reused struct (no string per header).
 * Only the header fields listed below are looked at; others are skipped.
 */
export class MessageHead {
  /** The start line was a valid request line / status line. */
  ok = false;
  isRequest = false;
  /** Index in METHODS (requests). */
  method = 0;
  /** Status code (responses). */
  status = 0;
  /** HTTP/1.0 (no persistent connection unless `Connection: keep-alive`). */
  http10 = false;
  /** Content-Length value; -1 absent, -2 invalid or conflicting. */
  contentLength = -1;
  chunked = false;
  /** Transfer-Encoding present but not ending in chunked (a response is then read until close). */
  otherCoding = false;
  connClose = false;
  connKeepAlive = false;
  keepAliveTimeout = -1;
  keepAliveMax = -1;
  /** Offsets of the values in the buffer given to parse (-1: absent). */
  uaStart = -1;
  uaEnd = -1;
  serverStart = -1;
  serverEnd = -1;
  hostStart = -1;
  hostEnd = -1;
  /**
   * Where the head ended in the buffer given to parse: just after its empty
   * line; -1 the range ended first (a partial head); -2 header parsing
   * stopped at a line of only blanks, which does not end a head.
   */
  end = -1;

  reset(): void {
    this.ok = false;
    this.method = 0;
    this.status = 0;
    this.http10 = false;
    this.contentLength = -1;
    this.chunked = false;
    this.otherCoding = false;
    this.connClose = false;
    this.connKeepAlive = false;
    this.keepAliveTimeout = -1;
    this.keepAliveMax = -1;
    this.uaStart = this.uaEnd = -1;
    this.serverStart = this.serverEnd = -1;
    this.hostStart = this.hostEnd = -1;
    this.end = -1;
  }
}

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;

function isTokenUpper(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f;
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** buf[s, s + name.length) equals `name` (given in lower case), ignoring case. */
function eqLower(buf: Uint8Array, s: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) if (lower(buf[s + i]) !== name.charCodeAt(i)) return false;
  return true;
}

/** "HTTP/1." at s; returns the minor digit, or -1. */
function httpVersion(buf: Uint8Array, s: number, e: number): number {
  if (e - s < 8) return -1;
  if (buf[s] !== 0x48 || buf[s + 1] !== 0x54 || buf[s + 2] !== 0x54 || buf[s + 3] !== 0x50 || buf[s + 4] !== 0x2f) return -1;
  if (buf[s + 5] !== 0x31 || buf[s + 6] !== 0x2e) return -1;
  const d = buf[s + 7] - 0x30;
  return d >= 0 && d <= 9 ? d : -1;
}

/**
 * What the first bytes of a message say: 1 it starts like an HTTP/1.x message
 * of that direction (request: a method token and a space; response:
 * "HTTP/1."), 0 not (yet) decidable from `e - s` bytes, -1 it does not.
 */
export function looksLikeStart(buf: Uint8Array, s: number, e: number, isRequest: boolean): number {
  if (isRequest) {
    const n = e - s;
    for (let i = 0; i < n && i <= 20; i++) {
      const c = buf[s + i];
      if (c === SP) return i > 0 ? 1 : -1;
      if (!isTokenUpper(c)) return -1;
    }
    return n > 20 ? -1 : 0;
  }
  const want = 'HTTP/1.';
  const n = Math.min(e - s, want.length);
  for (let i = 0; i < n; i++) if (buf[s + i] !== want.charCodeAt(i)) return -1;
  return n === want.length ? 1 : 0;
}

/** Index in METHODS of the method token buf[s, s + len); the common ones are told apart by length and first byte. */
function methodCode(buf: Uint8Array, s: number, len: number): number {
  const c = buf[s];
  let m = M_OTHER;
  if (len === 3) m = c === 0x47 ? 0 : c === 0x50 ? 3 : M_OTHER;
  else if (len === 4) m = c === 0x50 ? 2 : c === 0x48 ? 1 : M_OTHER;
  else if (len === 5) m = c === 0x50 ? 8 : c === 0x54 ? 7 : M_OTHER;
  else if (len === 6) m = c === 0x44 ? 4 : M_OTHER;
  else if (len === 7) m = c === 0x43 ? 5 : c === 0x4f ? 6 : M_OTHER;
  if (m === M_OTHER) return m;
  const name = METHODS[m];
  for (let i = 1; i < len; i++) if (buf[s + i] !== name.charCodeAt(i)) return M_OTHER;
  return m;
}

function trimStart(buf: Uint8Array, s: number, e: number): number {
  while (s < e && (buf[s] === SP || buf[s] === HT)) s++;
  return s;
}

function trimEnd(buf: Uint8Array, s: number, e: number): number {
  while (e > s && (buf[e - 1] === SP || buf[e - 1] === HT || buf[e - 1] === CR)) e--;
  return e;
}

/** Decimal digits at [s, e) (whitespace trimmed); -2 when not a plain non-negative number. */
function decimal(buf: Uint8Array, s: number, e: number): number {
  s = trimStart(buf, s, e);
  e = trimEnd(buf, s, e);
  if (s === e || e - s > 15) return -2;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return -2;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Index of the first LF in buf[s, e), or -1. A loop in JavaScript: the
 * ranges are short (a header line), and Buffer#indexOf is a call into C++
 * that would also scan past e, through the rest of the borrowed chunk.
 */
export function lfIndex(buf: Uint8Array, s: number, e: number): number {
  for (let i = s; i < e; i++) if (buf[i] === LF) return i;
  return -1;
}

/** End of the comma-separated element that starts at a (the comma or e). */
function elementEnd(buf: Uint8Array, a: number, e: number): number {
  while (a < e && buf[a] !== 0x2c) a++;
  return a;
}

/**
 * Parse the head at buf[s, e): the start line and every complete header line
 * (a line is complete when its LF is inside the range; a head cut by the
 * snaplen has its last, partial line ignored). Returns false when the start
 * line is not a valid HTTP/1.x request or status line.
 */
export function parseHead(buf: Uint8Array, s: number, e: number, isRequest: boolean, h: MessageHead): boolean {
  h.reset();
  h.isRequest = isRequest;
  // Empty lines before a request line are allowed (RFC 9112 2.2).
  while (s < e && (buf[s] === CR || buf[s] === LF)) s++;
  const eol = lfIndex(buf, s, e);
  if (eol < 0) return false; // no complete start line
  const lineEnd = trimEnd(buf, s, eol);
  if (isRequest) {
    let sp1 = s;
    while (sp1 < lineEnd && buf[sp1] !== SP) sp1++;
    if (sp1 === s || sp1 === lineEnd) return false;
    let sp2 = lineEnd;
    while (sp2 > sp1 && buf[sp2 - 1] !== SP) sp2--;
    if (sp2 <= sp1 + 1) return false;
    const minor = httpVersion(buf, sp2, lineEnd);
    if (minor < 0 || lineEnd - sp2 !== 8) return false;
    h.method = methodCode(buf, s, sp1 - s);
    h.http10 = minor === 0;
  } else {
    const minor = httpVersion(buf, s, lineEnd);
    if (minor < 0 || lineEnd - s < 12 || buf[s + 8] !== SP) return false;
    let code = 0;
    for (let i = s + 9; i < s + 12; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) return false;
      code = code * 10 + d;
    }
    if (code < 100) return false;
    h.status = code;
    h.http10 = minor === 0;
  }
  h.ok = true;
  let p = eol + 1;
  while (p < e) {
    const q = lfIndex(buf, p, e);
    if (q < 0) break; // partial last line (cut)
    const end = trimEnd(buf, p, q);
    if (end === p) {
      // The empty line (LF or CR LF) ends the head.
      h.end = q === p || (q === p + 1 && buf[p] === CR) ? q + 1 : -2;
      break;
    }
    let colon = p;
    while (colon < end && buf[colon] !== 0x3a) colon++;
    if (colon < end) headerField(buf, p, colon, trimStart(buf, colon + 1, end), end, h);
    p = q + 1;
  }
  return true;
}

function headerField(buf: Uint8Array, ns: number, ne: number, vs: number, ve: number, h: MessageHead): void {
  const len = ne - ns;
  const c0 = lower(buf[ns]);
  if (len === 14 && c0 === 0x63 && eqLower(buf, ns, len, 'content-length')) {
    const v = decimal(buf, vs, ve);
    if (v === -2 || (h.contentLength >= 0 && h.contentLength !== v)) h.contentLength = -2;
    else if (h.contentLength !== -2) h.contentLength = v;
  } else if (len === 17 && c0 === 0x74 && eqLower(buf, ns, len, 'transfer-encoding')) {
    // The last coding decides: chunked ends the message by its framing (RFC 9112 6.3).
    let last = -1;
    let lastEnd = -1;
    for (let a = vs; a < ve; ) {
      const z = elementEnd(buf, a, ve);
      const x = trimStart(buf, a, z);
      const y = trimEnd(buf, x, z);
      if (y > x) {
        last = x;
        lastEnd = y;
      }
      a = z + 1;
    }
    if (last >= 0 && eqLower(buf, last, lastEnd - last, 'chunked')) {
      h.chunked = true;
      h.otherCoding = false;
    } else if (last >= 0) {
      h.chunked = false;
      h.otherCoding = true;
    }
  } else if (len === 10 && c0 === 0x63 && eqLower(buf, ns, len, 'connection')) {
    for (let a = vs; a < ve; ) {
      const z = elementEnd(buf, a, ve);
      const x = trimStart(buf, a, z);
      const y = trimEnd(buf, x, z);
      if (eqLower(buf, x, y - x, 'close')) h.connClose = true;
      else if (eqLower(buf, x, y - x, 'keep-alive')) h.connKeepAlive = true;
      a = z + 1;
    }
  } else if (len === 10 && c0 === 0x6b && eqLower(buf, ns, len, 'keep-alive')) {
    for (let a = vs; a < ve; ) {
      const z = elementEnd(buf, a, ve);
      keepAliveParam(buf, trimStart(buf, a, z), z, h);
      a = z + 1;
    }
  } else if (len === 10 && c0 === 0x75 && eqLower(buf, ns, len, 'user-agent')) {
    h.uaStart = vs;
    h.uaEnd = ve;
  } else if (len === 6 && c0 === 0x73 && eqLower(buf, ns, len, 'server')) {
    h.serverStart = vs;
    h.serverEnd = ve;
  } else if (len === 4 && c0 === 0x68 && eqLower(buf, ns, len, 'host')) {
    h.hostStart = vs;
    h.hostEnd = ve;
  }
}

/** One `name=value` element of a Keep-Alive header at buf[a, z): timeout and max are kept. */
function keepAliveParam(buf: Uint8Array, a: number, z: number, h: MessageHead): void {
  const b = trimEnd(buf, a, z);
  let eq = a;
  while (eq < b && buf[eq] !== 0x3d) eq++;
  if (eq === b) return;
  const nameEnd = trimEnd(buf, a, eq);
  const v = decimal(buf, eq + 1, b);
  if (v < 0) return;
  if (eqLower(buf, a, nameEnd - a, 'timeout')) h.keepAliveTimeout = v;
  else if (eqLower(buf, a, nameEnd - a, 'max')) h.keepAliveMax = v;
}
