/**
 * Value syntaxes of §6.4 (booleans, durations, percentages, counts, ports),
 * with expected values computed by hand.
 */
import assert from "node:assert/strict";
import {
  parseBoolean,
  parseCount,
  parseDuration,
  parsePercent,
  parsePort,
  type ValueResult,
} from "../../src/config/values.ts";

function value<T>(r: ValueResult<T>): T {
  if (!r.ok) throw new Error(`unexpected error: ${r.error}`);
  return r.value;
}

function error<T>(r: ValueResult<T>): string {
  if (r.ok) throw new Error(`expected an error, got ${String(r.value)}`);
  return r.error;
}

Deno.test("booleans: every accepted spelling, any case, blanks ignored", () => {
  for (const text of ["yes", "y", "true", "on", "1", "YES", "Yes", " on "]) {
    assert.equal(value(parseBoolean("pfs", text)), true, text);
  }
  for (const text of ["no", "n", "false", "off", "0", "NO", "Off"]) {
    assert.equal(value(parseBoolean("pfs", text)), false, text);
  }
  assert.equal(error(parseBoolean("pfs", "maybe")), `pfs: "maybe" is not a boolean; use yes or no`);
  for (const text of ["", "yess", "2", "ye s", "-1"]) {
    assert.match(error(parseBoolean("pfs", text)), /^pfs: ".*" is not a boolean; use yes or no$/);
  }
});

Deno.test("durations are returned in milliseconds; seconds by default", () => {
  const ms = (text: string) => value(parseDuration("ikelifetime", text));
  assert.equal(ms("1.5h"), 5_400_000);
  assert.equal(ms("90m"), 5_400_000);
  assert.equal(ms("1.5h"), ms("90m"));
  assert.equal(ms("5400"), 5_400_000);
  assert.equal(ms("5400s"), 5_400_000);
  assert.equal(ms("500ms"), 500);
  assert.equal(ms("8h"), 28_800_000);
  assert.equal(ms("2d"), 172_800_000);
  assert.equal(ms("1w"), 604_800_000);
  assert.equal(ms("0"), 0);
  assert.equal(ms("1H"), 3_600_000, "unit in any case");
  assert.equal(ms(" 30s "), 30_000);
  // Exact decimal arithmetic: 0.1 s is 100 ms, not 100.00000000000001.
  assert.equal(ms("0.1s"), 100);
  assert.equal(ms("0.3s"), 300);
  assert.equal(ms("2.5ms"), 2.5);
  assert.equal(ms("1us"), 0.001);
  assert.equal(ms("1500us"), 1.5);
});

Deno.test("durations without a unit may default to milliseconds", () => {
  assert.equal(value(parseDuration("retransmit-interval", "500", "ms")), 500);
  assert.equal(value(parseDuration("retransmit-interval", "2s", "ms")), 2000);
  assert.equal(value(parseDuration("retransmit-interval", "1.5", "ms")), 1.5);
});

Deno.test("bad durations name the keyword and quote the value", () => {
  assert.equal(
    error(parseDuration("ikelifetime", "8x")),
    `ikelifetime: "8x" is not a duration; use a number with s, m, h, d or w`,
  );
  for (const text of ["", "h", "-1s", "1 h", "1.s", ".5s", "1h30m", "1e3", "0x10", "1,5h"]) {
    assert.equal(
      error(parseDuration("dpddelay", text)),
      `dpddelay: "${text}" is not a duration; use a number with s, m, h, d or w`,
      text,
    );
  }
  assert.equal(
    error(parseDuration("ikelifetime", "99999999999999999999w")),
    `ikelifetime: "99999999999999999999w" is too long a duration`,
  );
});

Deno.test("percentages: N or N%", () => {
  assert.equal(value(parsePercent("rekeyfuzz", "100%")), 100);
  assert.equal(value(parsePercent("rekeyfuzz", "50")), 50);
  assert.equal(value(parsePercent("rekeyfuzz", "0%")), 0);
  assert.equal(value(parsePercent("rekeyfuzz", "250%")), 250);
  assert.equal(
    error(parsePercent("rekeyfuzz", "x%")),
    `rekeyfuzz: "x%" is not a percentage; use a whole number, optionally followed by %`,
  );
  for (const text of ["", "%", "-1%", "1.5%", "50 %", "50%%", "99999999999999999999"]) {
    assert.match(error(parsePercent("rekeyfuzz", text)), /is not a percentage/, text);
  }
});

Deno.test("counts: whole numbers, binary suffixes and powers of two", () => {
  const count = (text: string) => value(parseCount("ipsec-max-bytes", text));
  assert.equal(count("0"), 0n);
  assert.equal(count("1000"), 1000n);
  assert.equal(count("1KiB"), 1024n);
  assert.equal(count("1kib"), 1024n);
  assert.equal(count("1MiB"), 1_048_576n);
  assert.equal(count("1GiB"), 1_073_741_824n);
  assert.equal(count("1TiB"), 1_099_511_627_776n);
  assert.equal(count("1PiB"), 1_125_899_906_842_624n);
  assert.equal(count("1EiB"), 1_152_921_504_606_846_976n);
  assert.equal(count("15EiB"), 17_293_822_569_102_704_640n);
  assert.equal(count("1.5KiB"), 1536n);
  assert.equal(count("0.5MiB"), 524_288n);
  assert.equal(count("1.001KiB"), 1025n, "1025.024 rounded down");
  assert.equal(count("2^63"), 9_223_372_036_854_775_808n);
  assert.equal(count("2^0"), 1n);
  assert.equal(count("18446744073709551615"), 18_446_744_073_709_551_615n);
});

Deno.test("bad counts name the keyword and quote the value", () => {
  const notCount =
    "is not a count; use a whole number, optionally followed by KiB, MiB, GiB, TiB, PiB or EiB";
  for (const text of ["", "x", "-1", "1.5", "1KB", "1K", "1 KiB", "1ZiB", "2^", "3^2", "1e3"]) {
    assert.equal(
      error(parseCount("ipsec-max-packets", text)),
      `ipsec-max-packets: "${text}" ${notCount}`,
      text,
    );
  }
  for (const text of ["18446744073709551616", "16EiB", "2^64", "2^999999999"]) {
    assert.equal(
      error(parseCount("ipsec-max-bytes", text)),
      `ipsec-max-bytes: "${text}" is too large; the most is 2^64-1`,
      text,
    );
  }
});

Deno.test("ports: 1 to 65535", () => {
  assert.equal(value(parsePort("--ikeport", "500")), 500);
  assert.equal(value(parsePort("--ikeport", "4500")), 4500);
  assert.equal(value(parsePort("--ikeport", "1")), 1);
  assert.equal(value(parsePort("--ikeport", "65535")), 65535);
  assert.equal(value(parsePort("--ikeport", " 0500 ")), 500);
  assert.equal(
    error(parsePort("--ikeport", "5oo")),
    `--ikeport: "5oo" is not a port; use a number from 1 to 65535`,
  );
  for (const text of ["", "0", "65536", "100000", "-1", "+500", "500.0", "0x1f4", "5 00"]) {
    assert.match(
      error(parsePort("--ikeport", text)),
      /is not a port; use a number from 1 to 65535$/,
    );
  }
});
