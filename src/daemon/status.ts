/** Assembles the one status model from the engine, the sockets and the daemon's settings. */
import type { PlutoOptions } from "../../cli/pluto_args.ts";
import { ikeAlgorithmStatusLines, kernelAlgorithmStatusLines } from "../config/algorithm_names.ts";
import type { InterfaceStatus, StatusSource } from "../control/status_model.ts";
import type { Engine } from "../ike/engine.ts";
import { connectionStatuses, stateStatuses } from "../ike/status.ts";
import { SWAN_VERSION as VERSION } from "../../cli/version.ts";

export function buildStatus(
  engine: Engine,
  options: PlutoOptions,
  interfaces: InterfaceStatus[],
  debug: string[],
): StatusSource {
  return {
    now: engine.now() / 1000,
    kernelInterface: engine.deps.kernel.name,
    interfaces,
    config: {
      configDir: "/etc",
      configFile: options.config ?? "/etc/ipsec.conf",
      secretsFile: options.secretsfile,
      ipsecDir: options.ipsecdir,
      nssDir: options.nssdir,
      dumpDir: options.dumpdir,
      sbinDir: "/usr/local/sbin",
      libexecDir: "/usr/local/libexec/ipsec",
      version: VERSION,
      vendorId: options.vendorid ?? `swan-${VERSION}`,
      nhelpers: options.nhelpers,
      uniqueIds: options.uniqueids,
      shuntLifetime: 900,
      expireLifetime: 30,
      logFile: options.stderrlog ? "<stderr>" : options.logfile ?? "<syslog>",
      logAppend: options.logAppend,
      logIp: options.logIp,
      ddosThreshold: 25000,
      maxHalfOpen: 50000,
      ddosMode: "auto",
      ikev1Policy: "drop",
      listen: options.listen ?? "<any>",
    },
    debug,
    natt: { keepAlive: options.keepAlive, natIkePort: options.natikeport },
    kernelAlgorithms: kernelAlgorithmStatusLines(),
    ikeAlgorithms: ikeAlgorithmStatusLines(),
    connections: connectionStatuses(engine).map((c) => ({
      ...c,
      interfaceDevice: interfaces.find((i) => i.address === c.local.host && !i.nat)?.device,
    })),
    states: stateStatuses(engine),
    shunts: engine.routing.shunts(),
    ddosCookiesRequired: false,
    listening: engine.listening,
  };
}
