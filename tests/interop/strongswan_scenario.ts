/**
 * swan against strongSwan's charon: one namespace pair, swan pluto in west,
 * charon in east, one connection with one Child SA. Shared by the test files
 * of both directions (and the rekey tests), so each stays a list of cases.
 */

import assert from "node:assert/strict";
import { eventually, Lab, type NamespacePair, type Pluto, tail } from "../netns/lab.ts";
import { compareKeys } from "./keys.ts";
import type { ProposalPair } from "./proposals.ts";
import { type Charon, type CharonIkeSa, startCharon } from "./strongswan.ts";
import {
  addSwanConnection,
  assertSwanClean,
  show,
  SWAN_KEYLOG_ARGS,
  type SwanConnection,
  swanKeys,
  type SwanSas,
  swanSas,
} from "./swan.ts";

/** The connection name on both sides. */
export const CONN = "interop";
const PSK = "interop pre-shared key, long enough for both implementations";
const INITIATE_TIMEOUT_MS = 20_000;

/** A running swan ↔ charon pair; {@link withSwanAndCharon} cleans it up. */
export interface SwanCharon {
  pair: NamespacePair;
  swan: Pluto;
  charon: Charon;
}

/** swan connection options beyond the proposal (`--pfs`). */
export type SwanOptions = Pick<SwanConnection, "pfs">;

/**
 * Starts swan (west, key logging on) and charon (east) with `proposal`,
 * adds the connection on both (`swanOptions` on swan's), runs `body`, and
 * always stops both and removes the namespaces. A failure carries both logs.
 */
export async function withSwanAndCharon(
  proposal: ProposalPair,
  body: (peers: SwanCharon) => Promise<void>,
  swanOptions: SwanOptions = {},
): Promise<void> {
  await using lab = await Lab.create();
  const pair = await lab.createPair();
  const { west, east } = pair;
  const swan = await lab.startPluto(west.ns, {
    secrets: `@west @east : PSK "${PSK}"\n`,
    extraArgs: [...SWAN_KEYLOG_ARGS],
  });
  const charon = await startCharon(east.ns, {
    name: CONN,
    local: east.v4,
    remote: west.v4,
    localId: "east",
    remoteId: "west",
    localTs: east.subnet,
    remoteTs: west.subnet,
    ike: proposal.strongswan.ike,
    esp: proposal.strongswan.esp,
    psk: PSK,
  });
  try {
    await addSwanConnection(swan, {
      name: CONN,
      local: west.v4,
      remote: east.v4,
      localId: "@west",
      remoteId: "@east",
      localSubnet: west.subnet,
      remoteSubnet: east.subnet,
      ...proposal.libreswan,
      ...swanOptions,
    });
    await body({ pair, swan, charon });
  } catch (err) {
    if (err instanceof Error) {
      err.message += `\n--- swan pluto stderr ---\n${tail(swan.log())}\n${await charon
        .diagnostics()}`;
    }
    throw err;
  } finally {
    await charon.stop();
  }
}

/** swan initiates (`whack --initiate`) and the command succeeds. */
export async function swanInitiates({ swan }: SwanCharon): Promise<void> {
  const up = await swan.whack(["--name", CONN, "--initiate"], { timeoutMs: INITIATE_TIMEOUT_MS });
  assert.equal(up.code, 0, `swan: --initiate\n${show(up)}`);
}

/** charon initiates (`swanctl --initiate --child net`) and swanctl reports success. */
export async function charonInitiates({ charon }: SwanCharon): Promise<void> {
  const up = await charon.initiate();
  assert.equal(up.code, 0, `charon: swanctl --initiate\n${up.stdout}${up.stderr}`);
}

/** Both sides' view of one established IKE SA with its Child SA(s). */
export interface Established {
  swan: SwanSas;
  charon: CharonIkeSa;
}

/**
 * Asserts both sides hold exactly one established IKE SA with `children`
 * installed Child SAs, and that the SPIs agree crosswise: swan's outbound
 * SPI is charon's inbound one and vice versa (`--status` vs
 * `swanctl --list-sas`).
 */
export async function assertEstablished(
  { swan, charon }: SwanCharon,
  children = 1,
): Promise<Established> {
  const sas = await eventually(
    () => charon.listSas(),
    (list) =>
      list.length === 1 && list[0].state === "ESTABLISHED" &&
      list[0].children.filter((c) => c.state === "INSTALLED").length === children,
  );
  assert.equal(sas.length, 1, `charon: expected one IKE SA\n${JSON.stringify(sas)}`);
  const ours = sas[0];
  assert.equal(ours.state, "ESTABLISHED", "charon: IKE SA state");
  const installed = ours.children.filter((c) => c.state === "INSTALLED");
  assert.equal(installed.length, children, `charon: installed Child SAs\n${JSON.stringify(ours)}`);

  const status = await eventually(
    () => swanSas(swan, CONN),
    (s) => s.ikeSerials.length === 1 && s.children.length === children,
  );
  assert.equal(
    status.ikeSerials.length,
    1,
    `swan: established IKE SAs\n${status.states.join("\n")}`,
  );
  assert.equal(status.children.length, children, `swan: Child SAs\n${status.states.join("\n")}`);

  const crosswise = (list: { inSpi: string; outSpi: string }[]) =>
    list.map((c) => `${c.outSpi}>${c.inSpi}`).sort();
  assert.deepEqual(
    crosswise(status.children),
    crosswise(installed.map((c) => ({ outSpi: c.inSpi, inSpi: c.outSpi }))),
    "swan's outbound/inbound SPIs are not charon's inbound/outbound ones",
  );
  return { swan: status, charon: ours };
}

/**
 * Asserts that the keys swan logged for its IKE SA equal, byte for byte,
 * the ones charon logged: SKEYSEED, SK_d/ai/ar/ei/er/pi/pr and every ESP SA
 * either logged (encryption key with salt, integrity key) by SPI and
 * direction, among them both SPIs of every Child SA `established` lists.
 */
export async function assertSameKeys(
  { swan, charon }: SwanCharon,
  established: Established,
): Promise<void> {
  const charonKeys = (await charon.keys()).get(established.charon.uniqueId);
  assert.ok(charonKeys, `charon logged no keys for IKE SA #${established.charon.uniqueId}`);
  // Without this, a Child SA neither side logged would compare equal.
  const unlogged = established.charon.children.flatMap((c) => [c.inSpi, c.outSpi])
    .filter((spi) => !charonKeys.esp.has(spi));
  assert.deepEqual(unlogged, [], "charon logged no keys for these ESP SPIs");
  const problems = compareKeys(swanKeys(swan, established.swan.ikeSerials[0]), charonKeys);
  assert.deepEqual(problems, [], "swan's keys differ from charon's");
}

/** Deletes the IKE SA from `who` and waits until neither side has any SA left. */
export async function deleteAndAssertClean(
  peers: SwanCharon,
  who: "swan" | "charon",
): Promise<void> {
  if (who === "swan") {
    const down = await peers.swan.whack(["--name", CONN, "--terminate"]);
    assert.equal(down.code, 0, `swan: --terminate\n${show(down)}`);
  } else {
    const down = await peers.charon.terminate();
    assert.equal(down.code, 0, `charon: swanctl --terminate\n${down.stdout}${down.stderr}`);
  }
  const left = await eventually(() => peers.charon.listSas(), (list) => list.length === 0);
  assert.deepEqual(left, [], "charon: IKE SAs remain");
  await assertSwanClean(peers.swan, CONN);
}
