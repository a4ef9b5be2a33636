// Library API: re-exports only. The CLI is one client of it.
//   readCapture(file, onPacket)  → RawPacket per record       (src/source)
//   new Decoder().decode(raw)    → DecodedPacket               (src/decode)
//   new TcpEngine({ onFlow })    → FlowRecord per connection   (src/tcp)
//   FlowStore.open(db)           → SQLite flow database        (src/store)
//   ingestFiles(store, files)    → all of the above, one transaction (src/pipeline)
//   buildReport / renderText     → the diagnosis from the database (src/report)
//   exportCapture / LiveExporter → the store sent to ClickHouse (src/export)
//   readFleet + buildFleetReport → the diagnosis across hosts, from ClickHouse
// The live pipeline is imported from './pipeline/live-pipeline' directly: it
// loads the optional libpcap addon.
export * from './source';
export * from './decode';
export * from './flow';
export * from './tcp';
export * from './store';
export * from './pipeline';
export * from './report';
export * from './export';
export { buildFleetReport, renderFleetText, renderFleetJson, type FleetReport, type FleetInput } from './report/fleet-report';
export { readKernelTcpSockets, parseProcNetTcp, SocketOwnerResolver } from './host';
