import { Decoder } from '../decode/decoder';
import type { RawPacket } from '../source/raw-packet';
import { FlowBatchBuilder, type FlowBatch } from '../tcp/flow-batch';
import { TcpEngine } from '../tcp/tcp-engine';

export interface PacketTrackerOptions {
  /** Receives each full batch of finished flows (handed over: not used again here). */
  onBatch: (batch: FlowBatch) => void;
  /** Flows per batch (default 500). */
  batchSize?: number;
  timeWaitUs?: number;
  idleTimeoutUs?: number;
  /** Read HTTP heads / TLS SNI from the payload (default true). */
  app?: boolean;
}

/**
 * Stage 3 of a file ingest, per packet: decode (Decoder) and track TCP
 * (TcpEngine), the engine encoding each finished flow into a batch that is
 * handed on (to the writer) once it holds `batchSize` flows. One tracker
 * reads every input of a capture, so a connection spanning two files is one
 * flow.
 */
export class PacketTracker {
  readonly decoder = new Decoder();
  readonly engine: TcpEngine;
  private readonly batch = new FlowBatchBuilder();
  private readonly batchSize: number;
  private readonly onBatch: (batch: FlowBatch) => void;
  /** The readCapture handler: one raw record in. */
  readonly onPacket: (p: RawPacket) => void;

  constructor(opts: PacketTrackerOptions) {
    this.batchSize = opts.batchSize ?? 500;
    this.onBatch = opts.onBatch;
    this.engine = new TcpEngine({
      encodeInto: {
        batch: this.batch,
        onEncoded: () => {
          if (this.batch.count >= this.batchSize) this.flush();
        },
      },
      app: opts.app !== false,
      ...(opts.timeWaitUs !== undefined ? { timeWaitUs: opts.timeWaitUs } : {}),
      ...(opts.idleTimeoutUs !== undefined ? { idleTimeoutUs: opts.idleTimeoutUs } : {}),
    });
    const decoder = this.decoder;
    const engine = this.engine;
    this.onPacket = (p) => {
      if (decoder.decode(p)) engine.packet(decoder.pkt, p.tsUs, p.buf);
    };
  }

  /** End of input at endUs: every flow still held is emitted and the last batch handed on. */
  finish(endUs: number): void {
    this.engine.finish(endUs);
    this.flush();
    this.decoder.finish(); // fragmented datagrams never completed count as fragment_reassembly_timeout
  }

  private flush(): void {
    if (this.batch.count > 0) this.onBatch(this.batch.take());
  }
}
