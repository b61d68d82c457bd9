/**
 * strongSwan's charon as a load-generator peer: one daemon per namespace,
 * each with a private `/run` (the pid file path is compiled in) bind-mounted
 * inside the mount namespace that `ip netns exec` creates, its own
 * strongswan.conf (`STRONGSWAN_CONF`) and its vici socket reachable from here.
 *
 * ESP runs in userspace (plugin kernel-libipsec over a TUN device) because
 * this kernel has no ESP; kernel-libipsec forces UDP encapsulation, so
 * charon fakes NAT detection and floats to port 4500. The tuning is the one the
 * issue's strongSwan baseline used: no DoS throttling (all SAs come from one
 * address), no IKE SA reuse on the initiator, quiet logs, hashed SA table.
 */
import { NamespaceDaemon } from "../tests/netns/lab.ts";
import { ViciSession } from "./vici.ts";

/** Debian's charon (apt-get install strongswan-charon libcharon-extra-plugins). */
export const CHARON = "/usr/lib/ipsec/charon";

const PLUGINS = "random nonce openssl aes sha1 sha2 hmac gmp curve25519 chapoly gcm kdf " +
  "kernel-libipsec kernel-netlink socket-default vici";

/** A running charon and a vici session to it. */
export interface Charon {
  daemon: NamespaceDaemon;
  vici: ViciSession;
  dir: string;
  stop(): Promise<void>;
}

/** Throws, naming the packages, when charon is not installed. */
export function assertCharon(): void {
  try {
    Deno.statSync(CHARON);
  } catch {
    throw new Error(
      `strongSwan's charon is not installed (${CHARON}); apt-get install strongswan-charon ` +
        "strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins",
    );
  }
}

/** Starts charon inside `ns` and connects to its vici socket (bounded wait). */
export async function startCharon(ns: string, readyTimeoutMs = 15_000): Promise<Charon> {
  assertCharon();
  const dir = await Deno.makeTempDir({ prefix: "swan-bench-charon-" });
  await Deno.mkdir(`${dir}/run`);
  const conf = `${dir}/strongswan.conf`;
  await Deno.writeTextFile(
    conf,
    `charon {
  load = ${PLUGINS}
  ikesa_table_size = 4096
  ikesa_table_segments = 16
  dos_protection = no
  cookie_threshold = 1000000
  block_threshold = 1000000
  init_limit_half_open = 0
  retransmit_timeout = 10
  reuse_ikesa = no
  install_routes = no
  filelog {
    quiet { path = ${dir}/charon.log
            default = 0 }
  }
  plugins { vici { socket = unix:///run/charon.vici } }
}
`,
  );
  const script = 'mount --bind "$1/run" /run && exec env STRONGSWAN_CONF="$1/strongswan.conf" ' +
    CHARON;
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, "sh", "-c", script, "sh", dir],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const daemon = new NamespaceDaemon(ns, "charon", child);
  const stop = async () => {
    await daemon.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const socket = `${dir}/run/charon.vici`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    try {
      const vici = await ViciSession.connect(socket);
      return {
        daemon,
        vici,
        dir,
        stop: async () => {
          vici.close();
          await stop();
        },
      };
    } catch (err) {
      if (daemon.exitStatus() !== undefined || Date.now() > deadline) {
        await stop();
        throw new Error(`charon in ${ns} did not open ${socket}: ${err}\n${daemon.log()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
