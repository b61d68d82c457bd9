/**
 * Crypto helpers (`pluto --nhelpers N`, as Libreswan has): a pool of Worker
 * threads that compute key-exchange public values and shared secrets, so
 * the daemon's event loop keeps handling packets while MODP exponentiation
 * and curve arithmetic run on the other cores. The engine sees an ordinary
 * {@link KeProvider}; private values are still drawn from the engine's own
 * entropy on the calling thread, so behaviour does not depend on the pool.
 */
import {
  CURVE25519,
  ECP_256,
  type KeAlgorithm,
  keAlgorithm,
  KeError,
  keGroup,
  type KeKeyPair,
  type KeProvider,
  MAX_DRAWS,
} from "../ke.ts";
import type { KeGroup, KeGroupPair } from "../ke_group.ts";
import { systemEntropy } from "../random.ts";
import type { HelperReply, HelperRequest } from "./protocol.ts";

/** A request as the pool builds it, before the helper that runs it numbers it. */
type Job = HelperRequest extends infer R ? R extends HelperRequest ? Omit<R, "id"> : never
  : never;

interface Waiter {
  resolve(bytes: Uint8Array): void;
  reject(error: Error): void;
}

/** One helper thread and the work it owes. */
class Helper {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiter>();
  #outbox: HelperRequest[] = [];
  #nextId = 0;
  dead = false;
  /** It answered at least once: a death after that is a crash, not a helper that cannot start. */
  answered = false;

  constructor(script: URL, onDeath: (helper: Helper, why: string) => void) {
    this.#worker = new Worker(script, { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<HelperReply[]>) => {
      this.answered = true;
      for (const reply of event.data) this.#settle(reply);
    };
    this.#worker.onerror = (event) => {
      // Handled here: an uncaught error in a helper must not take the daemon down.
      event.preventDefault();
      this.stop(`crypto helper failed: ${event.message}`);
      onDeath(this, event.message);
    };
  }

  /** Work not yet answered. */
  get load(): number {
    return this.#waiting.size;
  }

  run(job: Job): Promise<Uint8Array> {
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // Everything asked for in one event-loop turn goes over in one message.
      if (this.#outbox.length === 0) queueMicrotask(() => this.#flush());
      this.#outbox.push({ ...job, id } as HelperRequest);
    });
  }

  #flush(): void {
    const batch = this.#outbox;
    this.#outbox = [];
    if (!this.dead && batch.length > 0) this.#worker.postMessage(batch);
  }

  #settle(reply: HelperReply): void {
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    this.#waiting.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.bytes);
    else if ("fatal" in reply) waiter.reject(new Error(`crypto helper: ${reply.fatal}`));
    else waiter.reject(new KeError(reply.group, reply.problem));
  }

  /** Ends the thread; whatever it still owed fails with `why`. */
  stop(why: string): void {
    if (this.dead) return;
    this.dead = true;
    this.#worker.terminate();
    for (const waiter of this.#waiting.values()) waiter.reject(new Error(why));
    this.#waiting.clear();
    this.#outbox = [];
  }
}

/**
 * Groups worth a thread hop. A round trip to a helper costs the daemon's
 * thread about as much as one X25519 operation, so Curve25519 and P-256 stay
 * inline (measured: bench/RESULTS.md); MODP, P-384, P-521 and Curve448 cost
 * 3–5× more and go to the helpers.
 */
export function heavyGroup(id: number): boolean {
  return id !== CURVE25519 && id !== ECP_256;
}

/** Options of {@link KeHelperPool}. */
export interface KeHelperPoolOptions {
  /**
   * Told when a helper thread died. Its work is redone on the calling thread
   * and a new helper takes its place, unless it died before answering
   * anything (its module is missing, say): then the pool gives up on threads.
   */
  onDeath?: (why: string) => void;
  /** Which groups go to the helpers (default {@link heavyGroup}); the rest run inline. */
  offload?: (id: number) => boolean;
  /** The helper module (tests point it elsewhere to make helpers fail). */
  script?: URL;
}

/** A pool of `size` helper threads, started on first use; {@link close} ends them. */
export class KeHelperPool implements KeProvider {
  readonly #helpers: Helper[] = [];
  readonly #algorithms = new Map<number, KeAlgorithm>();
  readonly #onDeath: (why: string) => void;
  readonly #offload: (id: number) => boolean;
  readonly #script: URL;
  #nextHandle = 0;
  #closed = false;
  /** A helper died before answering anything: work stays inline. */
  #broken = false;

  /** @param size number of helper threads (≥ 1) */
  constructor(readonly size: number, options: KeHelperPoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size ${size}`);
    this.#onDeath = options.onDeath ?? (() => {});
    this.#offload = options.offload ?? heavyGroup;
    this.#script = options.script ?? new URL("./ke_worker.ts", import.meta.url);
  }

  keAlgorithm(id: number): KeAlgorithm | undefined {
    if (!this.#offload(id)) return keAlgorithm(id);
    let algorithm = this.#algorithms.get(id);
    if (!algorithm) {
      const group = keGroup(id);
      if (!group) return undefined;
      algorithm = this.#algorithm(group);
      this.#algorithms.set(id, algorithm);
    }
    return algorithm;
  }

  /** Ends every helper thread; pending work fails. */
  close(): void {
    this.#closed = true;
    for (const helper of this.#helpers) helper.stop("crypto helpers stopped");
    this.#helpers.length = 0;
  }

  /** The least busy helper, starting one while fewer than `size` run; undefined once broken. */
  #pick(): Helper | undefined {
    if (this.#closed) throw new Error("crypto helpers stopped");
    if (this.#broken) return undefined;
    if (this.#helpers.length < this.size) {
      const helper = new Helper(this.#script, (dead, why) => {
        this.#helpers.splice(this.#helpers.indexOf(dead), 1);
        if (!dead.answered) this.#broken = true;
        this.#onDeath(
          dead.answered ? why : `${why}; key exchange continues without helper threads`,
        );
      });
      this.#helpers.push(helper);
      return helper;
    }
    let best = this.#helpers[0];
    for (const h of this.#helpers) if (h.load < best.load) best = h;
    return best;
  }

  #algorithm(group: KeGroup): KeAlgorithm {
    // A value the group refuses is the caller's answer; any other failure (a helper that
    // died, or never started) is redone here on the calling thread.
    const orInline = async <T>(helper: Helper | undefined, job: Job, inline: () => T) => {
      if (!helper) return inline();
      try {
        return await helper.run(job);
      } catch (e) {
        if (e instanceof KeError || this.#closed) throw e;
        return inline();
      }
    };
    const keyPair = async (privateKey: Uint8Array): Promise<KeKeyPair> => {
      let inline: KeGroupPair | undefined;
      const local = () => inline ??= group.pairFromPrivate(privateKey);
      // The shared secret is computed by the helper that holds the pair.
      const helper = this.#pick();
      const handle = ++this.#nextHandle;
      const job: Job = { op: "pair", group: group.id, handle, privateKey };
      const publicKey = await orInline(helper, job, () => local().publicKey);
      return {
        publicKey,
        sharedSecret: (peerPublic) =>
          orInline(
            inline ? undefined : helper?.dead === false ? helper : this.#pick(),
            {
              op: "shared",
              group: group.id,
              handle,
              privateKey,
              // A copy: posting a view would clone the whole datagram it points into.
              peer: peerPublic.slice(),
            },
            () => local().sharedSecret(peerPublic),
          ),
      };
    };
    return {
      id: group.id,
      name: group.name,
      publicBytes: group.publicBytes,
      async generate(entropy = systemEntropy) {
        // As inline (ke.ts): only ECP refuses drawn values, with probability below 2^-32.
        for (let draw = 1;; draw++) {
          try {
            return await keyPair(group.randomPrivate(entropy));
          } catch (e) {
            if (!(e instanceof KeError) || draw === MAX_DRAWS) throw e;
          }
        }
      },
      keyPairFromPrivate: keyPair,
    };
  }
}
