/**
 * The messages between the daemon's thread and a key-exchange helper thread
 * (ke_pool.ts ⇄ ke_worker.ts). Private values travel between threads of one
 * process only; they are never logged.
 */

/** Work for a helper. `handle` names the key pair the helper keeps between the two steps. */
export type HelperRequest =
  /** Compute the public value of `privateKey` and keep the pair under `handle`. */
  | { id: number; op: "pair"; group: number; handle: number; privateKey: Uint8Array }
  /**
   * g^ir with `peer`, using the pair kept under `handle` (rebuilt from
   * `privateKey` when the helper no longer holds it); the pair is then forgotten.
   */
  | {
    id: number;
    op: "shared";
    group: number;
    handle: number;
    privateKey: Uint8Array;
    peer: Uint8Array;
  };

/** A helper's answer to the request with the same `id`. */
export type HelperReply =
  | { id: number; ok: true; bytes: Uint8Array }
  /** The group refused a value (KeError): `group` is its name, `problem` the reason. */
  | { id: number; ok: false; group: string; problem: string }
  /** Anything else went wrong in the helper: a bug, reported as such. */
  | { id: number; ok: false; fatal: string };
