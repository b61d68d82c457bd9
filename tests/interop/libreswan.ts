/**
 * Libreswan 4.10 `pluto` as an interop peer inside a lab namespace, driven
 * by its own `whack`.
 *
 * pluto runs from the private root `scripts/install-test-deps.sh` unpacks (see install.ts) with
 * everything in a private directory: `--config --rundir --nssdir --ipsecdir
 * --secretsfile`, and an empty NSS database (pluto will not start without
 * one). It has no "no kernel" mode: IKE negotiates, but adding ESP SAs fails
 * on a kernel without ESP (errno 38), so only IKE SAs without Child SAs
 * (RFC 6023 "childless") complete here.
 */

import { type CommandResult, NamespaceDaemon, run, tail } from "../netns/lab.ts";
import {
  assertLibreswanInstalled,
  CERTUTIL,
  LIBRESWAN_PLUTO,
  LIBRESWAN_ROOT,
  LIBRESWAN_WHACK,
} from "./install.ts";

/** One connection as Libreswan 4.10's whack adds it. */
export interface LibreswanConnection {
  /** The connection name. */
  name: string;
  /** Our and the peer's IKE address. */
  local: string;
  remote: string;
  /** IDs in Libreswan syntax (`@west`). */
  localId: string;
  remoteId: string;
  /** Subnets (whack 4.10 calls them `--client`). */
  localSubnet: string;
  remoteSubnet: string;
  /** `--ike`/`--esp` in Libreswan's grammar; pluto's defaults when absent. */
  ike?: string;
  esp?: string;
}

const READY_TIMEOUT_MS = 10_000;
const WHACK_TIMEOUT_MS = 30_000;

/** A running Libreswan 4.10 pluto with its private directory. */
export class LibreswanPluto extends NamespaceDaemon {
  /** The private directory (ipsec.conf, secrets, NSS db, run dir). */
  readonly dir: string;

  constructor(ns: string, child: Deno.ChildProcess, dir: string) {
    super(ns, "Libreswan 4.10 pluto", child);
    this.dir = dir;
  }

  /** Runs Libreswan's `whack --rundir <dir>/run …args`; only a hang throws. */
  whack(args: string[], timeoutMs = WHACK_TIMEOUT_MS): Promise<CommandResult> {
    return run([LIBRESWAN_WHACK, "--rundir", `${this.dir}/run`, ...args], { timeoutMs });
  }

  /** Adds `conn` (IKEv2, PSK, tunnel, ESP) with whack and fails loudly if pluto refuses it. */
  async addConnection(conn: LibreswanConnection): Promise<void> {
    const added = await this.whack([
      ...["--name", conn.name, "--ikev2", "--psk", "--encrypt", "--tunnel"],
      ...(conn.ike === undefined ? [] : ["--ike", conn.ike]),
      ...(conn.esp === undefined ? [] : ["--esp", conn.esp]),
      // Nothing to route or firewall: the kernel holds no SA.
      ...["--host", conn.local, "--id", conn.localId, "--client", conn.localSubnet],
      ...["--updown", "/bin/true"],
      "--to",
      ...["--host", conn.remote, "--id", conn.remoteId, "--client", conn.remoteSubnet],
      ...["--updown", "/bin/true"],
    ]);
    if (added.code !== 0) {
      throw new Error(
        `Libreswan whack could not add ${conn.name} (exit ${added.code})\n` +
          `${added.stdout}${added.stderr}`,
      );
    }
    const listen = await this.whack(["--listen"]);
    if (listen.code !== 0) throw new Error(`Libreswan whack --listen failed\n${listen.stdout}`);
  }

  /**
   * Makes this pluto's next IKE_AUTH request carry no Child SA (RFC 6023):
   * Libreswan 4.10 has no connection option for that, only this impairment.
   */
  async impairChildless(): Promise<void> {
    const r = await this.whack(["--impair", "omit-v2-ike-auth-child"]);
    if (r.code !== 0) throw new Error(`whack --impair failed\n${r.stdout}${r.stderr}`);
  }

  /** pluto's log so far (it logs to stderr). */
  diagnostics(): string {
    return `--- Libreswan pluto in ${this.ns} ---\n${tail(this.log())}`;
  }

  /** Stops pluto (SIGTERM, then SIGKILL) and removes its private directory. */
  override async stop(): Promise<Deno.CommandStatus> {
    const status = await super.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    return status;
  }
}

/**
 * Starts Libreswan 4.10's pluto in `ns` with `secrets` as its ipsec.secrets
 * and waits (bounded) for its control socket. Throws with its log if it does
 * not come up (and stops it).
 */
export async function startLibreswan(ns: string, secrets: string): Promise<LibreswanPluto> {
  await assertLibreswanInstalled();
  const dir = await Deno.makeTempDir({ prefix: "swan-libreswan-" });
  for (const sub of ["run", "nss"]) await Deno.mkdir(`${dir}/${sub}`);
  await Deno.writeTextFile(`${dir}/ipsec.conf`, "config setup\n\tuniqueids=no\n");
  await Deno.writeTextFile(`${dir}/ipsec.secrets`, secrets, { mode: 0o600 });
  const nss = await run([CERTUTIL, "-N", "--empty-password", "-d", `sql:${dir}/nss`]);
  if (nss.code !== 0) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`certutil -N failed: ${nss.stderr}`);
  }
  const child = new Deno.Command("ip", {
    args: [
      // pluto insists on its helpers at the compiled-in /usr/libexec/ipsec: inside the
      // mount namespace `ip netns exec` creates, the private root's libexec covers it.
      ...["netns", "exec", ns, "sh", "-c", 'mount --bind "$0" /usr/libexec && exec "$@"'],
      `${LIBRESWAN_ROOT}/usr/libexec`,
      ...[LIBRESWAN_PLUTO, "--nofork", "--stderrlog"],
      ...["--config", `${dir}/ipsec.conf`, "--rundir", `${dir}/run`, "--nssdir", `${dir}/nss`],
      ...["--ipsecdir", dir, "--secretsfile", `${dir}/ipsec.secrets`, "--dumpdir", `${dir}/run`],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pluto = new LibreswanPluto(ns, child, dir);
  const ctl = `${dir}/run/pluto.ctl`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = await Deno.stat(ctl).then((info) => info.isSocket === true, () => false);
    if (ready) return pluto;
    const failed = pluto.exitStatus() !== undefined || Date.now() > deadline;
    if (failed) {
      await pluto.stop();
      throw new Error(`Libreswan pluto did not create ${ctl}\n${pluto.diagnostics()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
