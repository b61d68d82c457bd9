/**
 * swan as a library: the sans-I/O IKEv2 engine, its adapters' interfaces,
 * the wire codecs, the crypto registry and the configuration readers. The
 * `swan` executable (cli/main.ts) is built from the same pieces.
 */
export { Engine, type EngineDeps, type EngineLog } from "./src/ike/engine.ts";
export type { ChildSa, IkeSa, WhackObserver } from "./src/ike/ike_sa.ts";
export { type Clock, ManualClock, systemClock } from "./src/ike/clock.ts";
export { type TimerHandle, TimerHeap } from "./src/ike/timer_heap.ts";
export type { Kernel, KernelSa } from "./src/kernel/kernel.ts";
export { NoKernel } from "./src/kernel/none.ts";
export type { Endpoint, Transport } from "./src/net/transport.ts";
export { MemoryNetwork } from "./src/net/memory_network.ts";
export * as wire from "./src/wire/payloads.ts";
export * as constants from "./src/wire/constants.ts";
export { encrAlgorithm } from "./src/crypto/encr.ts";
export { integAlgorithm } from "./src/crypto/integ.ts";
export { prfAlgorithm } from "./src/crypto/prf.ts";
export { keAlgorithm } from "./src/crypto/ke.ts";
export * as kdf from "./src/crypto/ikev2_kdf.ts";
export { buildConnection, type ConnectionConfig } from "./src/config/connection.ts";
export { parseEspProposals, parseIkeProposals } from "./src/config/proposals.ts";
export { loadSecrets } from "./src/config/secrets.ts";
export type { StatusModel } from "./src/control/status_model.ts";
export { renderStatus } from "./src/control/status_text.ts";
