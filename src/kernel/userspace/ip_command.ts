/**
 * iproute2 for the userspace stack's device and routes. Route and link
 * changes are rare (per Child SA, not per packet), so running `ip` is
 * simpler and easier to audit than building rtnetlink messages.
 */
import { type IpAddress, parseAddress } from "../../config/addresses.ts";

/** Runs `ip …args`; throws an Error quoting the command and its stderr when it fails. */
export async function runIp(args: string[]): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("ip", { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    throw new Error(`cannot run \`ip ${args.join(" ")}\`: ${(err as Error).message}`);
  }
  if (!output.success) {
    const why = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`\`ip ${args.join(" ")}\` failed (exit ${output.code}): ${why}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/** The host's addresses (`ip -j addr show`), every interface and family. */
export async function hostAddresses(): Promise<IpAddress[]> {
  const text = await runIp(["-j", "addr", "show"]);
  let links: unknown;
  try {
    links = JSON.parse(text);
  } catch {
    throw new Error("`ip -j addr show` did not print JSON");
  }
  const found: IpAddress[] = [];
  if (!Array.isArray(links)) return found;
  for (const link of links) {
    const infos = (link as { addr_info?: unknown }).addr_info;
    if (!Array.isArray(infos)) continue;
    for (const info of infos) {
      const local = (info as { local?: unknown }).local;
      const address = typeof local === "string" ? parseAddress(local) : undefined;
      if (address !== undefined) found.push(address);
    }
  }
  return found;
}
