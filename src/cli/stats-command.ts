import { Command } from 'commander';
import { CliError, action, fileMessage, usageErrors } from './cli-error';
import { CaptureStats, isoMicros } from '../decode/capture-stats';
import { isSupportedLinktype, linktypeName } from '../decode/linktypes';
import { CaptureError } from '../source/capture-error';
import { READER_ANOMALIES } from '../source/capture-info';
import { captureStatsAndSight } from '../pipeline/capture-census';
import { lossPercent, lossText, type LossCounts } from '../report/capture-loss';
import { captureVantage, type CaptureSight, oneDirectionLines, vantageLine } from '../report/capture-sight';

const PRECISION: Record<string, string> = { us: 'microseconds (10^-6)', ns: 'nanoseconds (10^-9)' };

/** "2026-11-27 05:19:15.926306 UTC": capinfos' layout, and the same words as the report's and ingest's times. */
function utcText(us: number): string {
  const iso = isoMicros(us);
  return iso === null ? `${us} µs since 1970 (not a date)` : iso.replace('T', ' ').replace(/Z$/, ' UTC');
}

function durationText(s: CaptureStats): string {
  if (s.firstTsUs === null || s.lastTsUs === null) return 'n/a';
  return `${((s.lastTsUs - s.firstTsUs) / 1e6).toFixed(6)} s`;
}

function anomaliesText(s: CaptureStats): string {
  const parts = Object.entries(s.anomalies).map(([k, v]) => `${k}=${v} (first at byte ${s.anomalyFirstOffsets[k]})`);
  return parts.length ? parts.join(', ') : 'none';
}

/** "20 (0 seen both ways)": TCP connections, and how many the capture saw in both directions. */
function connectionsText(v: CaptureSight): string {
  return `${v.flows} (${v.bothWays} seen both ways)`;
}

/** The text block for one file, in the spirit of capinfos; `sight`: what the capture could see (capture-sight.ts). */
export function renderStats(s: CaptureStats, sight?: CaptureSight, loss?: LossCounts): string {
  const i = s.info;
  const d = s.decoded;
  const rows: [string, string][] = [
    ['File', i.file],
    ['Format', `${i.format}${i.gzip ? ' (gzip)' : ''}`],
    ['Byte order', i.byteOrder === 'le' ? 'little-endian' : 'big-endian'],
    ['Timestamp precision', PRECISION[i.tsPrecision] ?? i.tsPrecision],
    ['Link types', i.linktypes.map((l) => `${l} (${linktypeName(l)})`).join(', ') || 'none'],
    ['Snaplen', i.snaplen === 0 ? '0 (unlimited)' : String(i.snaplen)],
    ['Sections / interfaces', `${i.sections} / ${i.interfaces}`],
    ['Packets', String(s.packets)],
    ['TCP packets', String(d.tcpPackets)],
    ['IPv4 / IPv6 packets', `${d.ipv4} / ${d.ipv6}`],
    ['Not IP / IP not TCP', `${d.nonIp} / ${d.nonTcp}`],
    ['IP fragments', `${d.fragments} (${d.laterFragments} later fragments; TCP datagrams reassembled)`],
    ['Skipped (link type)', String(d.skippedLinktype)],
    ...(loss ? ([['Capture loss', lossText(loss)]] as [string, string][]) : []),
    ['First packet', s.firstTsUs === null ? 'n/a' : utcText(s.firstTsUs)],
    ['Last packet', s.lastTsUs === null ? 'n/a' : utcText(s.lastTsUs)],
    ['Duration', durationText(s)],
    [i.gzip ? 'Bytes (decompressed)' : 'Bytes', String(s.bytes)],
    ['SHA256', s.sha256],
    ['Damage', s.damage ? `${s.damage.fatal ? 'FATAL' : 'warning'} ${s.damage.code}: ${s.damage.message}` : 'none'],
    ['Anomalies', anomaliesText(s)],
  ];
  if (sight) {
    rows.push(['TCP connections', connectionsText(sight)]);
    const one = oneDirectionLines(sight);
    // The limit and its reason (the first lines); the note on inferred states is for ingest and the report.
    rows.push(['One direction only', one.length === 0 ? 'no' : one.slice(0, -1).join('; ')]);
    rows.push(['Vantage point', vantageLine(sight).replace(/^vantage point: /, '')]);
  }
  const w = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `${(k + ':').padEnd(w)} ${v}`).join('\n') + '\n';
}

/** Anomalies that are ordinary traffic, not damage: not warned about. */
const BENIGN = new Set(['ip_fragment']);

/** One-line warnings (file + byte offset) about packets that could not be used. */
export function packetWarnings(s: CaptureStats): string[] {
  // The reader's own anomalies come with their warnings already written.
  const out: string[] = [...s.warnings];
  const file = s.info.file;
  if (s.decoded.skippedLinktype > 0) {
    const lts = s.info.linktypes.filter((l) => !isSupportedLinktype(l)).map((l) => `${l} (${linktypeName(l)})`);
    out.push(
      `${file}: ${s.decoded.skippedLinktype} packets of unsupported link type ${lts.join(', ')} skipped, first at byte ${s.anomalyFirstOffsets.unknown_linktype}`,
    );
  }
  for (const [name, n] of Object.entries(s.anomalies)) {
    if (name === 'unknown_linktype' || BENIGN.has(name) || READER_ANOMALIES.includes(name)) continue;
    out.push(`${file}: ${n} packet${n === 1 ? '' : 's'} with ${name}, first at byte ${s.anomalyFirstOffsets[name]}`);
  }
  return out;
}

/** JSON form of one file's statistics (timestamps both as µs and ISO text). */
export function statsJson(s: CaptureStats, sight?: CaptureSight, loss?: LossCounts): Record<string, unknown> {
  const seen = sight
    ? {
        connections: sight,
        oneDirection: oneDirectionLines(sight).slice(0, -1),
        vantage: captureVantage(sight),
      }
    : {};
  return {
    file: s.info.file,
    format: s.info.format,
    gzip: s.info.gzip,
    byteOrder: s.info.byteOrder,
    tsPrecision: s.info.tsPrecision,
    linktypes: s.info.linktypes.map((l) => ({ linktype: l, name: linktypeName(l) })),
    snaplen: s.info.snaplen,
    sections: s.info.sections,
    interfaces: s.info.interfaces,
    packets: s.packets,
    tcpPackets: s.decoded.tcpPackets,
    ipv4Packets: s.decoded.ipv4,
    ipv6Packets: s.decoded.ipv6,
    nonIpPackets: s.decoded.nonIp,
    nonTcpPackets: s.decoded.nonTcp,
    fragments: s.decoded.fragments,
    laterFragments: s.decoded.laterFragments,
    skippedLinktype: s.decoded.skippedLinktype,
    firstTsUs: s.firstTsUs,
    lastTsUs: s.lastTsUs,
    firstTs: s.firstTsUs === null ? null : isoMicros(s.firstTsUs),
    lastTs: s.lastTsUs === null ? null : isoMicros(s.lastTsUs),
    durationS: s.firstTsUs === null || s.lastTsUs === null ? null : (s.lastTsUs - s.firstTsUs) / 1e6,
    bytes: s.bytes,
    sha256: s.sha256,
    damage: s.damage,
    anomalies: s.anomalies,
    anomalyFirstOffsets: s.anomalyFirstOffsets,
    ...seen,
    ...(loss ? { captureLoss: { ackedBytes: loss.ackedBytes, gapBytes: loss.gapBytes, percent: lossPercent(loss) } } : {}),
  };
}

export function registerStats(program: Command): void {
  usageErrors(program.command('stats'))
    .description('format, link types, packet/TCP counts, first/last timestamp and anomalies of capture files (like capinfos)')
    .argument('<files...>', "pcap / pcapng files, optionally gzipped; '-' reads standard input")
    .option('--json', 'print a JSON array, one object per file')
    .action(
      action(async (files: string[], opts: { json?: boolean }) => {
        let failed = 0;
        const json: Record<string, unknown>[] = [];
        let first = true;
        for (const file of files) {
          let s: CaptureStats;
          let sight: CaptureSight;
          let loss: LossCounts;
          try {
            ({ stats: s, sight, loss } = await captureStatsAndSight(file));
          } catch (err) {
            // Never an error without the file's name.
            if (!(err instanceof CaptureError)) throw new CliError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
            failed++;
            process.stderr.write(`wirestate: ${fileMessage(err.message)}\n`);
            if (opts.json) json.push({ file, error: { code: err.code, offset: err.offset, message: err.message } });
            continue;
          }
          if (s.damage) {
            if (s.damage.fatal) failed++;
            process.stderr.write(`wirestate: ${s.damage.fatal ? 'error' : 'warning'}: ${s.damage.message}\n`);
          }
          for (const w of packetWarnings(s)) process.stderr.write(`wirestate: warning: ${w}\n`);
          if (opts.json) json.push(statsJson(s, sight, loss));
          else {
            process.stdout.write((first ? '' : '\n') + renderStats(s, sight, loss));
            first = false;
          }
        }
        if (opts.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
        return failed > 0 ? 1 : 0;
      }),
    );
}
