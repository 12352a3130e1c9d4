/**
 * Userland TCP proxy between a PostgreSQL client and server, for tests and benchmarks.
 *
 * It (a) injects latency, (b) injects faults (connection resets, refused connects) and
 * (c) counts round trips by parsing the PostgreSQL wire protocol in both directions.
 *
 * Definition of a round trip: `roundTrips` is the number of ReadyForQuery ('Z') messages
 * the server sent, excluding the first 'Z' of each connection (which ends the startup /
 * authentication handshake; handshakes are counted in `connections` instead). Every other
 * 'Z' answers exactly one client Sync ('S') or simple Query ('Q'), i.e. one request/response
 * exchange. Caveat: N pipelined extended-protocol queries written in one go (each ending in
 * its own Sync) count N round trips even though they cost only one network latency, and a
 * Parse/Describe/Flush ... Bind/Execute/Sync exchange (postgres.js's first run of a
 * parameterised query) counts 1 although the client waits twice. For latency accounting use
 * the extra stat `clientTurns`: the number of times, after the handshake, the client sent a
 * message after having received server output (async NoticeResponse/NotificationResponse/
 * ParameterStatus ignored) since its previous message, i.e. how often the client had to wait.
 *
 * Latency: rttMs/2 is added in each direction through a FIFO delay queue per direction, so
 * byte order within a connection is always preserved (never one setTimeout per chunk).
 */
import net from 'node:net';

export interface ProxyOptions {
  targetHost?: string;
  targetPort?: number;
  listenPort?: number;
  rttMs?: number;
}

export interface ProxyStats {
  connections: number;
  activeConnections: number;
  roundTrips: number;
  clientMessages: Record<string, number>;
  serverMessages: Record<string, number>;
  bytesFromClient: number;
  bytesFromServer: number;
  /** Waits by the client; see the header comment. Not part of the round-trip definition. */
  clientTurns: number;
}

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;

/**
 * Incremental message splitter. It only keeps message headers (<= 8 bytes) and skips bodies
 * by counting, so messages spanning chunks and chunks holding many messages cost nothing.
 */
class WireParser {
  /** 'startup': untyped Int32 length + Int32 code; 'typed': Byte1 type + Int32 length;
   *  'opaque': TLS/GSS negotiated, nothing more can be parsed. */
  /** Single-byte answers (to SSLRequest/GSSENCRequest) expected before the next typed message. */
  expectBytes = 0;
  private hdr = Buffer.alloc(8);
  private hdrLen = 0;
  private skip = 0;

  constructor(public mode: 'startup' | 'typed' | 'opaque', private emit: (type: string) => void) {}

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && this.mode !== 'opaque') {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        (this.skip -= n), (i += n);
        continue;
      }
      if (this.expectBytes > 0 && this.hdrLen === 0) {
        // The server answers SSLRequest/GSSENCRequest with one bare byte ('N', 'S' or 'G');
        // anything but 'N' starts TLS/GSS, after which the stream is opaque to us.
        this.expectBytes--;
        if (chunk[i++] !== 0x4e /* N */) this.mode = 'opaque';
        this.emit('sslResponse');
        continue;
      }
      const need = this.mode === 'startup' ? 8 : 5;
      const n = Math.min(need - this.hdrLen, chunk.length - i);
      chunk.copy(this.hdr, this.hdrLen, i, i + n);
      (this.hdrLen += n), (i += n);
      if (this.hdrLen < need) return; // header continues in the next chunk
      this.hdrLen = 0;
      if (this.mode === 'startup') {
        const code = this.hdr.readInt32BE(4);
        this.skip = Math.max(0, this.hdr.readInt32BE(0) - 8);
        if (code === SSL_REQUEST) this.emit('ssl');
        else if (code === GSSENC_REQUEST) this.emit('gssenc');
        else if (code === CANCEL_REQUEST) this.emit('cancel');
        else {
          this.mode = 'typed';
          this.emit('startup');
        }
      } else {
        this.skip = Math.max(0, this.hdr.readInt32BE(1) - 4);
        this.emit(String.fromCharCode(this.hdr[0]));
      }
    }
  }
}

/** One direction of a connection: FIFO delay queue with backpressure onto the source. */
class DelayedPipe {
  private queue: { due: number; buf: Buffer | null }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastDue = 0;
  private paused = false;

  constructor(private src: net.Socket, private dest: net.Socket, private delayMs: () => number) {}

  /** buf === null means "source ended": end the destination once earlier data is written. */
  push(buf: Buffer | null): void {
    const d = this.delayMs();
    if (d <= 0 && this.queue.length === 0) return this.write(buf);
    // max() keeps due times monotonic even if the delay is lowered with setRtt().
    const due = Math.max(performance.now() + d, this.lastDue);
    this.lastDue = due;
    this.queue.push({ due, buf });
    this.schedule();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0].due - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // setTimeout has 1 ms granularity; accept items due within the next millisecond.
      const now = performance.now() + 1;
      while (this.queue.length > 0 && this.queue[0].due <= now) this.write(this.queue.shift()!.buf);
      this.schedule();
    }, wait);
  }

  private write(buf: Buffer | null): void {
    if (this.dest.destroyed) return;
    if (buf === null) return void this.dest.end();
    if (!this.dest.write(buf) && !this.paused) {
      this.paused = true;
      this.src.pause();
      this.dest.once('drain', () => {
        this.paused = false;
        this.src.resume();
      });
    }
  }
}

interface Conn {
  id: number;
  client: net.Socket;
  server: net.Socket;
  pipes: DelayedPipe[];
  handshakeDone: boolean;
  serverSpoke: boolean; // server output seen since the client's last message (for clientTurns)
}

/** Send a TCP RST where possible (a real "connection reset"), else just destroy. */
function reset(s: net.Socket): void {
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export class TcpProxy {
  /**
   * Called for every message the client sends (startup, 'P', 'B', 'Q', ...), before it is
   * forwarded. If the hook resets the connection, the chunk holding the message never reaches
   * the server.
   */
  onClientMessage?: (type: string, connId: number) => void;
  /**
   * Called for every message the server sends ('1', 'D', 'C', 'Z', ...), before it is forwarded.
   * If the hook resets the connection, the chunk holding the message never reaches the client:
   * e.g. a reset on the 'Z' that ends a call loses a reply the server has already committed.
   */
  onServerMessage?: (type: string, connId: number) => void;
  private readonly targetHost: string;
  private readonly targetPort: number;
  private readonly listenPort: number;
  private rttMs: number;
  private server: net.Server | undefined;
  private conns = new Set<Conn>();
  private nextId = 1;
  private refusing = false;
  private blackoutTimer: NodeJS.Timeout | undefined;
  private endBlackout: (() => void) | undefined;
  private s: ProxyStats = TcpProxy.emptyStats();

  constructor(opts: ProxyOptions = {}) {
    this.targetHost = opts.targetHost ?? '127.0.0.1';
    this.targetPort = opts.targetPort ?? 5432;
    this.listenPort = opts.listenPort ?? 0;
    this.rttMs = opts.rttMs ?? 0;
  }

  private static emptyStats(): ProxyStats {
    return {
      connections: 0, activeConnections: 0, roundTrips: 0,
      clientMessages: {}, serverMessages: {}, bytesFromClient: 0, bytesFromServer: 0, clientTurns: 0,
    };
  }

  get port(): number {
    const addr = this.server?.address();
    if (!addr || typeof addr === 'string') throw new Error('TcpProxy not started');
    return addr.port;
  }

  start(): Promise<void> {
    // allowHalfOpen: a FIN from one peer must not end the other direction before the
    // delayed data still queued for that peer has been written; we forward FINs ourselves.
    const server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  url(database: string, user = 'postgres'): string {
    return `postgresql://${encodeURIComponent(user)}@127.0.0.1:${this.port}/${encodeURIComponent(database)}?sslmode=disable`;
  }

  stats(): ProxyStats {
    return {
      ...this.s,
      activeConnections: this.conns.size,
      clientMessages: { ...this.s.clientMessages },
      serverMessages: { ...this.s.serverMessages },
    };
  }

  resetStats(): void { this.s = TcpProxy.emptyStats(); }

  setRtt(ms: number): void { this.rttMs = ms; }

  resetAll(): void { for (const c of this.conns) this.teardown(c); }

  blackout(ms: number): Promise<void> {
    this.endBlackout?.(); // a new blackout supersedes a running one
    this.setRefusing(true);
    this.resetAll();
    return new Promise((resolve) => {
      this.endBlackout = () => {
        clearTimeout(this.blackoutTimer);
        this.endBlackout = undefined;
        resolve();
      };
      this.blackoutTimer = setTimeout(() => {
        this.setRefusing(false);
        this.endBlackout?.();
      }, ms);
    });
  }

  setRefusing(on: boolean): void { this.refusing = on; }

  async close(): Promise<void> {
    this.endBlackout?.(); // never leave a caller awaiting a blackout hanging
    this.refusing = true;
    this.resetAll();
    const server = this.server;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private teardown(c: Conn): void {
    for (const p of c.pipes) p.clear();
    reset(c.client);
    reset(c.server);
    this.conns.delete(c);
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {}); // errors are handled through 'close'
    if (this.refusing) return reset(client);
    client.setNoDelay(true);
    const server = net.connect({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
    server.on('error', () => {});
    server.setNoDelay(true);
    const half = () => this.rttMs / 2;
    const c: Conn = {
      id: this.nextId++, client, server, handshakeDone: false, serverSpoke: false,
      pipes: [new DelayedPipe(client, server, half), new DelayedPipe(server, client, half)],
    };
    this.conns.add(c);
    this.s.connections++;

    const count = (rec: Record<string, number>, t: string) => (rec[t] = (rec[t] ?? 0) + 1);
    const serverParser = new WireParser('typed', (t) => {
      count(this.s.serverMessages, t);
      if (t === 'sslResponse' && serverParser.mode === 'opaque') clientParser.mode = 'opaque';
      if (t !== 'N' && t !== 'A' && t !== 'S') c.serverSpoke = true;
      if (t === 'Z') {
        if (c.handshakeDone) this.s.roundTrips++;
        else c.handshakeDone = true;
      }
      this.onServerMessage?.(t, c.id);
    });
    const clientParser = new WireParser('startup', (t) => {
      count(this.s.clientMessages, t);
      if (t === 'ssl' || t === 'gssenc') serverParser.expectBytes++;
      if (c.handshakeDone && c.serverSpoke && t !== 'X') {
        this.s.clientTurns++;
        c.serverSpoke = false;
      }
      this.onClientMessage?.(t, c.id);
    });

    client.on('data', (buf: Buffer) => {
      this.s.bytesFromClient += buf.length;
      clientParser.feed(buf);
      // The hook may have reset this connection; then the chunk must not reach the server.
      if (this.conns.has(c)) c.pipes[0].push(buf);
    });
    server.on('data', (buf: Buffer) => {
      this.s.bytesFromServer += buf.length;
      serverParser.feed(buf);
      // The hook may have reset this connection; then the chunk must not reach the client.
      if (this.conns.has(c)) c.pipes[1].push(buf);
    });
    // A clean FIN travels through the delay queue behind the data that preceded it.
    client.on('end', () => c.pipes[0].push(null));
    server.on('end', () => c.pipes[1].push(null));
    const onClose = (hadError: boolean) => {
      if (hadError) this.teardown(c); // propagate a reset/failure to the other side at once
      else if (client.destroyed && server.destroyed) this.conns.delete(c);
    };
    client.on('close', onClose);
    server.on('close', onClose);
  }
}
