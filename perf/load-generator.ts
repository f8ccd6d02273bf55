// A lean HTTP/1.1 load generator for the serve benchmark: keep-alive sockets, request bytes built once,
// responses framed by Content-Length (what the monitor always sends). It costs the shared 2 cores about
// a third of what Node's http.Agent or undici's Pool cost per request (measured: against a no-op node:http
// server at 50 connections, 30.9k req/s here vs 24.3k with undici), so more of the machine is left to the
// server under test; latencies are timed to the microsecond (autocannon's histogram keeps whole ms).
//
// closedLoop: `connections` clients, each sending its next request when the previous answer arrives.
// openLoop: requests are due at Poisson arrival times at `rate` per second whatever the server does; a due
// request waits for a free connection, and its latency counts from when it was due (no coordinated omission).

import net from "node:net";

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Answers outside 2xx, and socket errors. */
  readonly errors: number;
}

export interface LoadTarget {
  readonly url: string;
  readonly path: string;
  readonly method: "GET" | "POST";
  readonly headers?: Record<string, string>;
  /** Request bodies, used in turn; none for GET. */
  readonly bodies?: readonly string[];
}

function requestBytes(target: LoadTarget): Buffer[] {
  const u = new URL(target.url);
  return (target.bodies ?? [""]).map((b) => {
    const body = Buffer.from(b);
    const head = [`${target.method} ${target.path} HTTP/1.1`, `host: ${u.host}`, ...Object.entries(target.headers ?? {}).map(([k, v]) => `${k}: ${v}`), `content-length: ${body.length}`, "", ""];
    return Buffer.concat([Buffer.from(head.join("\r\n")), body]);
  });
}

/** One keep-alive connection that sends a request and calls back with its status when the whole answer is in. */
class Connection {
  private buf: Buffer = Buffer.alloc(0);
  private need = -1;
  private status = 0;
  private onAnswer: ((status: number) => void) | undefined;
  private readonly socket: net.Socket;
  readonly ready: Promise<void>;

  constructor(url: URL) {
    this.socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    // A socket that errors or is closed by the server fails its outstanding request (counted as an error).
    this.socket.on("error", () => this.finish(0));
    this.socket.on("close", () => this.finish(0));
    this.socket.on("data", (d: Buffer) => this.read(d));
  }

  send(bytes: Buffer, onAnswer: (status: number) => void): void {
    if (this.socket.destroyed) return void setImmediate(onAnswer, 0);
    this.onAnswer = onAnswer;
    this.need = -1;
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  private read(d: Buffer): void {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, d]) : d;
    if (this.need < 0) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buf.toString("latin1", 0, end);
      this.status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length) throw new Error(`load generator: an answer without Content-Length:\n${head}`);
      this.need = end + 4 + Number(length[1]);
    }
    if (this.buf.length < this.need) return;
    this.buf = this.buf.subarray(this.need);
    this.finish(this.status);
  }

  private finish(status: number): void {
    const cb = this.onAnswer;
    this.onAnswer = undefined;
    cb?.(status);
  }
}

function summarise(latencies: Float64Array, seconds: number, errors: number): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  const n = sorted.length;
  const q = (p: number) => sorted[Math.min(n - 1, Math.floor(p * n))]!;
  return { requests: n, seconds, rps: n / seconds, p50: q(0.5), p99: q(0.99), max: sorted[n - 1]!, errors };
}

export async function closedLoop(target: LoadTarget, connections: number, requests: number): Promise<LoadResult> {
  const bytes = requestBytes(target);
  const conns = Array.from({ length: connections }, () => new Connection(new URL(target.url)));
  await Promise.all(conns.map((c) => c.ready));
  const latencies = new Float64Array(requests);
  let issued = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    conns.map(
      (conn) =>
        new Promise<void>((resolve) => {
          const next = () => {
            if (issued >= requests) return resolve();
            const k = issued++;
            const start = performance.now();
            conn.send(bytes[k % bytes.length]!, (status) => {
              latencies[k] = performance.now() - start;
              if (status < 200 || status >= 300) errors++;
              next();
            });
          };
          next();
        }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  for (const c of conns) c.close();
  return summarise(latencies, seconds, errors);
}

export async function openLoop(target: LoadTarget, connections: number, requests: number, rate: number, seed = 1): Promise<LoadResult> {
  const bytes = requestBytes(target);
  const conns = Array.from({ length: connections }, () => new Connection(new URL(target.url)));
  await Promise.all(conns.map((c) => c.ready));
  // Poisson arrivals: exponential gaps from a seeded xorshift stream, so every run offers the same schedule.
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  const due = new Float64Array(requests);
  for (let k = 1; k < requests; k++) due[k] = due[k - 1]! - (Math.log(uniform()) / rate) * 1000;
  const latencies = new Float64Array(requests);
  const idle = [...conns];
  let nextDue = 0;
  let answered = 0;
  let errors = 0;
  let timer: NodeJS.Timeout | undefined;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const dispatch = () => {
      timer = undefined;
      const now = performance.now() - t0;
      while (nextDue < requests && due[nextDue]! <= now && idle.length > 0) {
        const k = nextDue++;
        const conn = idle.shift()!; // round robin: no connection idles long enough for the server to close it
        conn.send(bytes[k % bytes.length]!, (status) => {
          latencies[k] = performance.now() - t0 - due[k]!;
          if (status < 200 || status >= 300) errors++;
          idle.push(conn);
          if (++answered === requests) resolve();
          else dispatch();
        });
      }
      // Node's timers have 1 ms granularity: a request may leave up to ~1 ms late, and that lag counts in its latency.
      if (nextDue < requests && idle.length > 0 && !timer) timer = setTimeout(dispatch, Math.max(0, due[nextDue]! - (performance.now() - t0)));
    };
    dispatch();
  });
  const seconds = (performance.now() - t0) / 1000;
  for (const c of conns) c.close();
  return summarise(latencies, seconds, errors);
}
