/**
 * A minimal client of strongSwan's VICI protocol (the versatile IKE control
 * interface that swanctl speaks), enough to load connections and secrets,
 * start IKE SAs and follow `ike-updown`/`child-updown` events.
 *
 * Wire format (strongSwan's src/libcharon/plugins/vici/README.md): each packet
 * is a 32-bit big-endian length, then a type byte (0 CMD_REQUEST, 1
 * CMD_RESPONSE, 2 CMD_UNKNOWN, 3 EVENT_REGISTER, 4 EVENT_UNREGISTER, 5
 * EVENT_CONFIRM, 6 EVENT_UNKNOWN, 7 EVENT), a name (8-bit length) for
 * requests and events, and a message: elements 1 SECTION_START(name), 2
 * SECTION_END, 3 KEY_VALUE(name, 16-bit length value), 4 LIST_START(name), 5
 * LIST_ITEM(16-bit length value), 6 LIST_END.
 */

/** A VICI message: values, lists of values and nested sections. */
export type ViciMessage = { [key: string]: string | string[] | ViciMessage };

const CMD_REQUEST = 0, CMD_RESPONSE = 1, CMD_UNKNOWN = 2, EVENT_REGISTER = 3, EVENT_CONFIRM = 5;
const EVENT = 7;

const encoder = new TextEncoder(), decoder = new TextDecoder();

/** Encodes a message body. */
export function encodeMessage(msg: ViciMessage): Uint8Array {
  const out: number[] = [];
  const name = (s: string) => {
    const b = encoder.encode(s);
    out.push(b.length, ...b);
  };
  const value = (s: string) => {
    const b = encoder.encode(s);
    out.push(b.length >> 8, b.length & 0xff, ...b);
  };
  const walk = (m: ViciMessage) => {
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === "string") {
        out.push(3);
        name(k);
        value(v);
      } else if (Array.isArray(v)) {
        out.push(4);
        name(k);
        for (const item of v) {
          out.push(5);
          value(item);
        }
        out.push(6);
      } else {
        out.push(1);
        name(k);
        walk(v);
        out.push(2);
      }
    }
  };
  walk(msg);
  return Uint8Array.from(out);
}

/** Decodes a message body; throws on malformed input (it comes from our own charon). */
export function decodeMessage(data: Uint8Array): ViciMessage {
  const stack: ViciMessage[] = [{}];
  let list: string[] | undefined;
  let i = 0;
  const name = () => {
    const n = data[i++];
    const s = decoder.decode(data.subarray(i, i + n));
    i += n;
    return s;
  };
  const value = () => {
    const n = (data[i] << 8) | data[i + 1];
    i += 2;
    const s = decoder.decode(data.subarray(i, i + n));
    i += n;
    return s;
  };
  while (i < data.length) {
    const t = data[i++];
    const top = stack[stack.length - 1];
    if (t === 1) {
      const section: ViciMessage = {};
      top[name()] = section;
      stack.push(section);
    } else if (t === 2) stack.pop();
    else if (t === 3) {
      const k = name();
      top[k] = value();
    } else if (t === 4) {
      list = [];
      top[name()] = list;
    } else if (t === 5 && list) list.push(value());
    else if (t === 6) list = undefined;
    else throw new Error(`vici: bad element type ${t} at ${i - 1}`);
  }
  return stack[0];
}

/** One connection to a vici socket: requests are answered in order; events go to `onEvent`. */
export class ViciSession {
  #conn: Deno.UnixConn;
  #buf = new Uint8Array(0);
  #waiting: ((reply: { type: number; msg: ViciMessage }) => void)[] = [];
  #reading: Promise<void>;
  /** Called for every EVENT packet. */
  onEvent: (name: string, msg: ViciMessage) => void = () => {};

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.#reading = this.#readLoop();
  }

  /** Connects to the socket at `path`. */
  static async connect(path: string): Promise<ViciSession> {
    return new ViciSession(await Deno.connect({ transport: "unix", path }));
  }

  /** Sends a command and returns its response; throws for a command charon does not know. */
  async request(command: string, msg: ViciMessage = {}): Promise<ViciMessage> {
    const reply = await this.#send(CMD_REQUEST, command, msg);
    if (reply.type === CMD_UNKNOWN) throw new Error(`vici: unknown command ${command}`);
    return reply.msg;
  }

  /** Subscribes to an event. */
  async register(event: string): Promise<void> {
    const reply = await this.#send(EVENT_REGISTER, event, {});
    if (reply.type !== EVENT_CONFIRM) throw new Error(`vici: cannot register for ${event}`);
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** Resolves when the read loop ended (socket closed). */
  get closed(): Promise<void> {
    return this.#reading;
  }

  async #send(type: number, name: string, msg: ViciMessage) {
    const nameBytes = encoder.encode(name);
    const body = encodeMessage(msg);
    const packet = new Uint8Array(4 + 2 + nameBytes.length + body.length);
    const len = packet.length - 4;
    new DataView(packet.buffer).setUint32(0, len);
    packet[4] = type;
    packet[5] = nameBytes.length;
    packet.set(nameBytes, 6);
    packet.set(body, 6 + nameBytes.length);
    const reply = new Promise<{ type: number; msg: ViciMessage }>((r) => this.#waiting.push(r));
    for (let off = 0; off < packet.length;) off += await this.#conn.write(packet.subarray(off));
    return reply;
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = await this.#conn.read(chunk);
      } catch {
        return;
      }
      if (n === null) return;
      const merged = new Uint8Array(this.#buf.length + n);
      merged.set(this.#buf);
      merged.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = merged;
      while (this.#buf.length >= 4) {
        const len = new DataView(this.#buf.buffer, this.#buf.byteOffset).getUint32(0);
        if (this.#buf.length < 4 + len) break;
        const pkt = this.#buf.subarray(4, 4 + len);
        this.#buf = this.#buf.slice(4 + len);
        const type = pkt[0];
        if (type === EVENT) {
          const nameLen = pkt[1];
          const name = decoder.decode(pkt.subarray(2, 2 + nameLen));
          this.onEvent(name, decodeMessage(pkt.subarray(2 + nameLen)));
        } else {
          const msg = type === CMD_RESPONSE || type === EVENT_CONFIRM
            ? decodeMessage(pkt.subarray(1))
            : {};
          this.#waiting.shift()?.({ type, msg });
        }
      }
    }
  }
}
