/**
 * The control socket: a Unix stream socket, mode 0700 so only root talks to
 * pluto. Each whack connection carries one JSON request line; pluto answers
 * with `NNN text` lines and closes when the command is done.
 */
import { formatReplyLine, RC } from "../control/reply.ts";
import { WHACK_MAGIC, type WhackRequest } from "../control/request.ts";
import type { WhackObserver } from "../ike/ike_sa.ts";

const MAX_REQUEST = 1 << 20;

/**
 * One whack conversation. Lines are queued so they leave in order; a long
 * reply paces itself with {@link WhackSession.drained}.
 */
export class WhackSession implements WhackObserver {
  #chain: Promise<unknown> = Promise.resolve();
  #done = false;
  #pending: string[] = [];
  readonly #encoder = new TextEncoder();
  constructor(private conn: Deno.UnixConn) {}

  /** Finished, or whack went away: further lines would be dropped. */
  get finished(): boolean {
    return this.#done;
  }

  /** Resolves once every line given so far has been written (or could not be). */
  drained(): Promise<void> {
    return this.#chain.then(() => {});
  }

  line(text: string): void {
    if (this.#done) return;
    this.#write(formatReplyLine(RC.PRINT, text));
  }

  finish(rc: number): void {
    if (this.#done) return;
    if (rc >= 20) this.#write(formatReplyLine(rc, ""));
    this.#done = true;
    this.#chain = this.#chain.then(() => this.conn.close()).catch(() => {});
  }

  /**
   * Lines written in one turn of the event loop leave in one write: a
   * `--status` of 50k states is ~10^5 lines, and one awaited write each made
   * it take seconds.
   */
  #write(s: string): void {
    this.#pending.push(s);
    if (this.#pending.length > 1) return; // a flush is already queued
    this.#chain = this.#chain.then(async () => {
      const bytes = this.#encoder.encode(this.#pending.join(""));
      this.#pending = [];
      let off = 0;
      while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
    }).catch(() => {
      // whack went away; pluto carries on, and a long reply stops rendering.
      this.#pending = [];
      this.finish(0);
    });
  }
}

export type RequestHandler = (req: WhackRequest, session: WhackSession) => void | Promise<void>;

export class ControlServer {
  #listener?: Deno.UnixListener;

  constructor(
    private path: string,
    private handler: RequestHandler,
    private log: (text: string) => void,
  ) {}

  /** Binds the socket (replacing a stale file) and starts accepting. */
  start(): void {
    try {
      Deno.removeSync(this.path);
    } catch { /* none */ }
    this.#listener = Deno.listen({ transport: "unix", path: this.path });
    Deno.chmodSync(this.path, 0o700);
    this.#accept(this.#listener);
  }

  async #accept(listener: Deno.UnixListener): Promise<void> {
    try {
      for await (const conn of listener) this.#serve(conn);
    } catch (e) {
      if (!(e instanceof Deno.errors.BadResource)) {
        this.log(`control socket: ${(e as Error).message}`);
      }
    }
  }

  async #serve(conn: Deno.UnixConn): Promise<void> {
    const session = new WhackSession(conn);
    let text: string;
    try {
      text = await readLine(conn);
    } catch (e) {
      session.line(`whack message rejected: ${(e as Error).message}`);
      session.finish(RC.BADWHACKMESSAGE);
      return;
    }
    let req: WhackRequest;
    try {
      req = JSON.parse(text);
    } catch {
      session.line("whack message rejected: not a swan whack request (bad JSON)");
      session.finish(RC.BADWHACKMESSAGE);
      return;
    }
    if (typeof req !== "object" || req === null || req.magic !== WHACK_MAGIC) {
      session.line(
        `whack message rejected: wrong magic; use the swan whack that matches this pluto (expected ${WHACK_MAGIC})`,
      );
      session.finish(RC.BADWHACKMESSAGE);
      return;
    }
    try {
      await this.handler(req, session);
    } catch (e) {
      session.line(`internal error: ${(e as Error).message}`);
      session.finish(RC.INTERNAL_ERROR);
    }
  }

  stop(): void {
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    try {
      Deno.removeSync(this.path);
    } catch { /* gone */ }
  }
}

/** Reads up to the first newline (the whole request). */
async function readLine(conn: Deno.UnixConn): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    const chunk = buf.slice(0, n);
    const nl = chunk.indexOf(10);
    chunks.push(nl >= 0 ? chunk.subarray(0, nl) : chunk);
    total += n;
    if (nl >= 0) break;
    if (total > MAX_REQUEST) throw new Error("request too large");
  }
  const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}
