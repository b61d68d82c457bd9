/**
 * A crypto helper thread (`pluto --nhelpers`): computes key-exchange public
 * values and shared secrets for the daemon's thread, so that modular
 * exponentiation and curve arithmetic do not stall its event loop.
 * Started by ke_pool.ts as a module Worker; speaks protocol.ts.
 */
import { KeError, keGroup } from "../ke.ts";
import type { KeGroupPair } from "../ke_group.ts";
import type { HelperReply, HelperRequest } from "./protocol.ts";

/**
 * Pairs waiting for their shared secret. Bounded so that initiators whose
 * peer never answers cannot grow it; an evicted pair is rebuilt from the
 * private value that comes with the `shared` request.
 */
const MAX_KEPT = 4096;
const kept = new Map<number, KeGroupPair>();

function keep(handle: number, pair: KeGroupPair): void {
  if (kept.size >= MAX_KEPT) kept.delete(kept.keys().next().value!);
  kept.set(handle, pair);
}

function run(req: HelperRequest): Uint8Array {
  const group = keGroup(req.group);
  if (!group) throw new Error(`no key-exchange group ${req.group}`);
  switch (req.op) {
    case "pair": {
      const pair = group.pairFromPrivate(req.privateKey);
      keep(req.handle, pair);
      return pair.publicKey;
    }
    case "shared": {
      const pair = kept.get(req.handle) ?? group.pairFromPrivate(req.privateKey);
      kept.delete(req.handle);
      return pair.sharedSecret(req.peer);
    }
  }
}

function answer(req: HelperRequest): HelperReply {
  try {
    return { id: req.id, ok: true, bytes: run(req) };
  } catch (e) {
    if (e instanceof KeError) {
      return {
        id: req.id,
        ok: false,
        group: e.group,
        problem: e.message.slice(e.group.length + 2),
      };
    }
    return { id: req.id, ok: false, fatal: e instanceof Error ? e.message : String(e) };
  }
}

// A Worker's global scope; typed here so the module also checks under the main-thread lib.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<HelperRequest[]>) => void) | null;
  postMessage(message: HelperReply[]): void;
};

// Requests come in batches (everything the daemon asked for in one event-loop turn).
scope.onmessage = (event) => scope.postMessage(event.data.map(answer));
