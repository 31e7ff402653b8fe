import { createServer, connect, type Server, type Socket } from 'node:net';

/** Kafka's EndTxn request (commit or abort a transaction). */
const END_TXN = 26;

/**
 * A TCP proxy in front of one broker's PROXIED listener (scripts/kafka.sh, KAFKA_PROXIED_PORT)
 * that reads the Kafka protocol's frames, for faults a broker cannot be made to show on cue:
 * `cutAtNextCommit` cuts every connection at the next EndTxn and refuses new ones for a while:
 * `after` the broker took it (the transaction commits, its answer is lost — a broker that died
 * just after committing) or `before` it reached the broker (the transaction never commits). The
 * client cannot tell the two apart.
 */
export class KafkaFaultProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private armed: { outageMs: number; when: 'before' | 'after'; fired: () => void } | undefined;
  private refuseUntil = 0;
  /** EndTxn requests or answers cut so far. */
  cut = 0;

  constructor(
    private readonly listenPort: number,
    private readonly upstreamPort: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.listenPort, '127.0.0.1', resolve));
    this.server = server;
  }

  /** Resolves once the next EndTxn (or its answer, `after`) was cut and the outage of `outageMs` began. */
  cutAtNextCommit(when: 'before' | 'after', outageMs: number): Promise<void> {
    return new Promise((fired) => (this.armed = { outageMs, when, fired }));
  }

  /** Cuts every connection and refuses new ones for the armed outage. */
  private fire(): void {
    const armed = this.armed!;
    this.armed = undefined;
    this.cut++;
    this.refuseUntil = Date.now() + armed.outageMs;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    armed.fired();
  }

  private accept(client: Socket): void {
    if (Date.now() < this.refuseUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(this.upstreamPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    const endTxnIds = new Set<number>();
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    frames(client, (frame) => {
      if (frame.readInt16BE(4) === END_TXN && this.armed) {
        if (this.armed.when === 'before') return this.fire();
        endTxnIds.add(frame.readInt32BE(8));
      }
      upstream.write(frame);
    });
    frames(upstream, (frame) => {
      if (this.armed && endTxnIds.has(frame.readInt32BE(4))) return this.fire();
      client.write(frame);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Calls `onFrame` with each whole size-prefixed Kafka frame read from `socket`. */
function frames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0) + 4;
      if (pending.length < size) break;
      onFrame(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  });
}
