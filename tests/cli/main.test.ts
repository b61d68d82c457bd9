/**
 * `swan` dispatch, run as real processes. cli/ and src/control/ are copied
 * into a temporary tree whose src/daemon/pluto.ts is a stub that prints the
 * PlutoOptions it gets and returns 7, so these tests see exactly what
 * cli/main.ts hands the daemon, independently of the daemon itself.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";

const decoder = new TextDecoder();
const repo = new URL("../../", import.meta.url);

const STUB_PLUTO = `export function runPluto(options) {
  console.log(JSON.stringify(options));
  return Promise.resolve(7);
}
`;

/** A temporary copy of what cli/main.ts loads, with the daemon stubbed out. */
async function makeTree(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "swan-main-test-" });
  for (const dir of ["cli", "src/control", "src/daemon"]) {
    await Deno.mkdir(`${root}/${dir}`, { recursive: true });
  }
  for (const dir of ["cli", "src/control"]) {
    for await (const entry of Deno.readDir(new URL(`${dir}/`, repo))) {
      if (entry.isFile && entry.name.endsWith(".ts")) {
        await Deno.copyFile(new URL(`${dir}/${entry.name}`, repo), `${root}/${dir}/${entry.name}`);
      }
    }
  }
  await Deno.copyFile(new URL("deno.json", repo), `${root}/deno.json`);
  await Deno.writeTextFile(`${root}/src/daemon/pluto.ts`, STUB_PLUTO);
  return root;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `<program> run -A <root>/cli/main.ts ...args`; `program` may be a link to deno. */
async function swan(root: string, args: string[], program = Deno.execPath()): Promise<Run> {
  const output = await new Deno.Command(program, {
    args: ["run", "-A", "--no-lock", "--no-config", `${root}/cli/main.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function withTree(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await makeTree();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const version: string = JSON.parse(await Deno.readTextFile(new URL("deno.json", repo))).version;

Deno.test("swan: --version, --help, no command, unknown command", async () => {
  await withTree(async (root) => {
    deepStrictEqual(await swan(root, ["--version"]), {
      code: 0,
      stdout: `swan ${version}\n`,
      stderr: "",
    });
    const help = await swan(root, ["--help"]);
    ok(help.stdout.startsWith("usage: swan"), help.stdout);
    equal(help.code, 0);
    const bare = await swan(root, []);
    ok(bare.stderr.startsWith("usage: swan"), bare.stderr);
    equal(bare.stdout, "");
    equal(bare.code, 1);
    deepStrictEqual(await swan(root, ["bogus"]), {
      code: 1,
      stdout: "",
      stderr: 'swan: unknown command "bogus"; see swan --help\n',
    });
  });
});

Deno.test("swan pluto: parsed options reach runPluto and its result is the exit code", async () => {
  await withTree(async (root) => {
    const run = await swan(root, ["pluto", "--nofork", "--ikeport", "4501", "--rundir", "/tmp/r"]);
    equal(run.code, 7);
    const options = JSON.parse(run.stdout);
    equal(options.nofork, true);
    equal(options.ikeport, 4501);
    equal(options.ctlsocket, "/tmp/r/pluto.ctl");
    deepStrictEqual(await swan(root, ["pluto", "--ikeport", "5oo"]), {
      code: 1,
      stdout: "",
      stderr: 'pluto: --ikeport: "5oo" is not a port (1-65535)\n',
    });
    const help = await swan(root, ["pluto", "--help"]);
    ok(help.stdout.startsWith("usage: pluto"), help.stdout);
    equal(help.code, 0);
    deepStrictEqual(await swan(root, ["pluto", "--version"]), {
      code: 0,
      stdout: `swan ${version}\n`,
      stderr: "",
    });
  });
});

Deno.test("swan whack: dispatches to the whack client", async () => {
  await withTree(async (root) => {
    deepStrictEqual(await swan(root, ["whack", "--version"]), {
      code: 0,
      stdout: `swan ${version}\n`,
      stderr: "",
    });
    deepStrictEqual(await swan(root, ["whack", "--initiate"]), {
      code: 33,
      stdout: "",
      stderr: "whack error: missing --name <connection_name>\n",
    });
  });
});

Deno.test("swan: started through a link named pluto or whack it is that command", async () => {
  await withTree(async (root) => {
    await Deno.mkdir(`${root}/bin`);
    for (const name of ["pluto", "whack", "swan"]) {
      await Deno.symlink(Deno.execPath(), `${root}/bin/${name}`);
    }
    const pluto = await swan(root, ["--nofork"], `${root}/bin/pluto`);
    equal(pluto.code, 7, pluto.stderr);
    equal(JSON.parse(pluto.stdout).nofork, true);
    deepStrictEqual(await swan(root, ["--initiate"], `${root}/bin/whack`), {
      code: 33,
      stdout: "",
      stderr: "whack error: missing --name <connection_name>\n",
    });
    // Any other name leaves the choice to the first argument.
    const other = await swan(root, ["pluto", "--stderrlog"], `${root}/bin/swan`);
    equal(other.code, 7, other.stderr);
    equal(JSON.parse(other.stdout).stderrlog, true);
  });
});
