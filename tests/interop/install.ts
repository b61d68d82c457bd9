/**
 * Where the interop peers live and how a test finds out they are missing.
 *
 * strongSwan 5.9.8 is installed with apt (charon, swanctl and the plugin
 * package holding kernel-libipsec). Libreswan 4.10 cannot be: Debian's
 * `libreswan` conflicts with `strongswan-libcharon`, so `scripts/install-test-deps.sh` unpacks its
 * .deb with `dpkg -x` into a private root outside the clone. A missing peer is
 * a test failure with this explanation, never a skip.
 */

/** The private root holding Libreswan 4.10 (`scripts/install-test-deps.sh` creates it); `SWAN_LIBRESWAN_ROOT` overrides. */
export const LIBRESWAN_ROOT: string = Deno.env.get("SWAN_LIBRESWAN_ROOT") ??
  "/var/cache/swan-interop/libreswan-4.10";

/** strongSwan's IKE daemon, as the Debian package installs it. */
export const CHARON = "/usr/lib/ipsec/charon";
/** strongSwan's vici client. */
export const SWANCTL = "/usr/sbin/swanctl";
/** The plugin that does ESP in userspace: this kernel has no ESP. */
export const KERNEL_LIBIPSEC = "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so";
/** Libreswan's IKE daemon in the private root. */
export const LIBRESWAN_PLUTO = `${LIBRESWAN_ROOT}/usr/libexec/ipsec/pluto`;
/** Libreswan's control client in the private root. */
export const LIBRESWAN_WHACK = `${LIBRESWAN_ROOT}/usr/libexec/ipsec/whack`;
/** NSS's database tool (libnss3-tools): Libreswan's pluto refuses to start without an NSS db. */
export const CERTUTIL = "/usr/bin/certutil";

const HOW_TO_INSTALL =
  "run `bash scripts/install-test-deps.sh` as root once (it installs the interop peers), or see " +
  "tests/interop/README.md";

async function assertFiles(peer: string, paths: string[]): Promise<void> {
  const missing: string[] = [];
  for (const path of paths) {
    const found = await Deno.stat(path).then((info) => info.isFile, () => false);
    if (!found) missing.push(path);
  }
  if (missing.length > 0) {
    throw new Error(`${peer} is not installed: missing ${missing.join(", ")}; ${HOW_TO_INSTALL}`);
  }
}

/** Throws a clear error unless charon, swanctl and kernel-libipsec are installed. */
export function assertStrongswanInstalled(): Promise<void> {
  return assertFiles("strongSwan 5.9.8", [CHARON, SWANCTL, KERNEL_LIBIPSEC]);
}

/** Throws a clear error unless Libreswan 4.10's pluto and whack and NSS's certutil are there. */
export function assertLibreswanInstalled(): Promise<void> {
  return assertFiles("Libreswan 4.10", [LIBRESWAN_PLUTO, LIBRESWAN_WHACK, CERTUTIL]);
}
