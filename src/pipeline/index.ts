// File ingest pipeline. (The live pipeline is imported from './live-pipeline' directly: it loads the optional libpcap addon.)
export * from './ingest-files';
export * from './file-digest';
export * from './first-packet-time';
