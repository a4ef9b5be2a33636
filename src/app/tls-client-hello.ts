/**
 * The server name (SNI, RFC 6066 section 3) of a TLS ClientHello, read in
 * place from the first bytes the client sent: TLS record header (RFC 8446
 * 5.1), handshake header, legacy version, random, session id, cipher suites,
 * compression methods, then the extensions until server_name (type 0).
 * Only the first record is read (a ClientHello split over several records
 * is rare and is reported as having no SNI).
 */

/** The bytes start like a TLS handshake record carrying a ClientHello: 1 yes, 0 undecided (too few bytes), -1 no. */
export function looksLikeClientHello(buf: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n >= 1 && buf[s] !== 0x16) return -1;
  if (n >= 2 && buf[s + 1] !== 0x03) return -1;
  if (n >= 6 && buf[s + 5] !== 0x01) return -1;
  return n >= 6 ? 1 : 0;
}

/** Result of sniFromClientHello when more bytes are needed. */
export const NEED_MORE = 1;
/** Result when the ClientHello carries no server name (or is malformed). */
export const NO_SNI = 0;

/**
 * The SNI host name as a string, NEED_MORE when buf[s, e) ends before the
 * server_name extension (or before the end of a record that might hold it),
 * or NO_SNI.
 */
export function sniFromClientHello(buf: Uint8Array, s: number, e: number): string | typeof NEED_MORE | typeof NO_SNI {
  if (e - s < 5) return NEED_MORE;
  const recordEnd = s + 5 + ((buf[s + 3] << 8) | buf[s + 4]);
  const end = recordEnd < e ? recordEnd : e;
  let p = s + 5;
  // handshake: type (1), length (3)
  if (p + 4 > end) return more(end, recordEnd);
  p += 4;
  p += 2 + 32; // legacy_version, random
  if (p + 1 > end) return more(end, recordEnd);
  p += 1 + buf[p]; // session id
  if (p + 2 > end) return more(end, recordEnd);
  p += 2 + ((buf[p] << 8) | buf[p + 1]); // cipher suites
  if (p + 1 > end) return more(end, recordEnd);
  p += 1 + buf[p]; // compression methods
  if (p + 2 > end) return more(end, recordEnd);
  const extEnd = p + 2 + ((buf[p] << 8) | buf[p + 1]);
  p += 2;
  while (p + 4 <= end && p < extEnd) {
    const type = (buf[p] << 8) | buf[p + 1];
    const len = (buf[p + 2] << 8) | buf[p + 3];
    p += 4;
    if (type !== 0) {
      p += len;
      continue;
    }
    if (p + len > end) return more(end, recordEnd);
    // server_name_list length (2), then entries: name_type (1), length (2), name
    let q = p + 2;
    const listEnd = p + len;
    while (q + 3 <= listEnd) {
      const nameType = buf[q];
      const nameLen = (buf[q + 1] << 8) | buf[q + 2];
      q += 3;
      if (q + nameLen > listEnd) return NO_SNI;
      if (nameType === 0 && nameLen > 0) return Buffer.from(buf.buffer, buf.byteOffset + q, nameLen).toString('latin1');
      q += nameLen;
    }
    return NO_SNI;
  }
  return p < extEnd ? more(end, recordEnd) : NO_SNI;
}

function more(end: number, recordEnd: number): typeof NEED_MORE | typeof NO_SNI {
  return end < recordEnd ? NEED_MORE : NO_SNI;
}
