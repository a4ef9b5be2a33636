import { Decoder } from '../../src/decode/decoder';
import { readCapture } from '../../src/source/read-capture';
import type { FlowRecord } from '../../src/tcp/flow-record';
import { TcpEngine } from '../../src/tcp/tcp-engine';

/** Every flow wirestate's engine makes of `file` (readCapture -> Decoder -> TcpEngine, defaults as in ingest). */
export async function engineFlows(file: string): Promise<FlowRecord[]> {
  const flows: FlowRecord[] = [];
  const engine = new TcpEngine({ onFlow: (f) => flows.push(f) });
  const decoder = new Decoder();
  let lastTs = 0;
  await readCapture(
    file,
    (raw) => {
      if (decoder.decode(raw)) {
        engine.packet(decoder.pkt, raw.tsUs);
        lastTs = raw.tsUs;
      }
    },
    { hash: false },
  );
  engine.finish(lastTs);
  return flows;
}
