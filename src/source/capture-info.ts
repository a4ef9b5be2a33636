/** What a capture file says about itself (global header / section + interface blocks). */
export interface CaptureInfo {
  /** The file as given ('-' for stdin). */
  file: string;
  format: 'pcap' | 'pcapng';
  gzip: boolean;
  /** Byte order of the file (pcapng: of the first section). */
  byteOrder: 'le' | 'be';
  /** pcap: 'us' or 'ns'; pcapng: of the first interface ('us', 'ns', '10^-n', '2^-n'). */
  tsPrecision: 'us' | 'ns' | string;
  /** Largest snapshot length over all interfaces (0 = unlimited). */
  snaplen: number;
  /** Distinct LINKTYPE_* values, in the order first seen. */
  linktypes: number[];
  /** pcapng sections (1 for pcap). */
  sections: number;
  /** Interfaces over all sections (1 for pcap). */
  interfaces: number;
}

/**
 * Damage found while reading. `fatal: false` means the last record was cut
 * short by the end of the file (tcpdump killed): a warning. `fatal: true`
 * means the framing broke: reading stopped there. Either way every packet
 * before `offset` was delivered.
 */
export interface CaptureDamage {
  /** 'truncated_record', 'truncated_block', 'bad_caplen', 'bad_block_length', 'bad_interface_id', 'bad_gzip', ... */
  code: string;
  /** Byte offset in the (decompressed) input where the damaged record or block starts. */
  offset: number;
  /** One line, naming the file and the offset: `${file}: ... at byte N`. */
  message: string;
  fatal: boolean;
  /** gzip input: the compressed byte offset of the damage in the file as stored. */
  rawOffset?: number;
}

/** The anomalies a reader counts (ReadResult.anomalies), each with its own warning in ReadResult.warnings. */
export const READER_ANOMALIES: readonly string[] = ['bad_timestamp', 'bad_ts_resolution', 'gzip_trailing_garbage'];

export interface ReadResult {
  info: CaptureInfo;
  /** Records delivered to the packet handler. */
  packets: number;
  /** Decompressed input bytes read up to where reading stopped (the whole input unless fatally damaged). */
  bytes: number;
  /** Earliest and latest packet timestamps (integer µs since the epoch), null without timestamped packets. */
  firstTsUs: number | null;
  lastTsUs: number | null;
  /** Hex sha256 of the raw input bytes (the compressed bytes for gzip input); '' when ReadOptions.hash was false. */
  sha256: string;
  damage: CaptureDamage | null;
  /**
   * Named anomalies of the framing that are not damage, e.g. `bad_timestamp`
   * (records skipped), `bad_ts_resolution`, `gzip_trailing_garbage`, with the
   * (decompressed; for gzip_trailing_garbage the compressed) byte offset of the first.
   */
  anomalies: Record<string, number>;
  anomalyFirstOffsets: Record<string, number>;
  /** One line per such anomaly, naming the file and the offset. */
  warnings: string[];
}

export interface ReadOptions {
  /** Called after each chunk with raw bytes read so far and the raw size when known. */
  onProgress?: (bytesRead: number, totalBytes: number | null) => void;
  signal?: AbortSignal;
  /**
   * false: do not compute the sha256 (ReadResult.sha256 is then ''), e.g. when
   * the caller hashed the file already. Default true.
   */
  hash?: boolean;
}
