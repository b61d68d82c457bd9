/**
 * A minimal shell glob (`*`, `?`, `[...]`, `\` escapes) over the real
 * filesystem, for ipsec.secrets `include` lines and `--secretsfile`.
 * Wildcards match within one path component and, as in sh, never match a
 * leading dot.
 */

const MAGIC = /[*?[]/;

/** Translates one path component's pattern into an anchored RegExp. */
function componentRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\" && i + 1 < pattern.length) {
      source += escapeRegExp(pattern[++i]);
    } else if (c === "*") {
      source += "[^/]*";
    } else if (c === "?") {
      source += "[^/]";
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) {
        source += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      source += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, (x) => `\\${x}`)}]`;
      i = close;
    } else {
      source += escapeRegExp(c);
    }
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, (x) => `\\${x}`);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir === "" ? "." : dir)].map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Expands `pattern` to the existing paths it matches, sorted. A pattern
 * without wildcards yields itself when the file exists, else nothing (like
 * glob(3) without GLOB_NOCHECK). Unreadable directories simply match
 * nothing; this never throws.
 */
export function expandGlob(pattern: string): string[] {
  if (!MAGIC.test(pattern)) return exists(pattern) ? [pattern] : [];
  const absolute = pattern.startsWith("/");
  const components = pattern.split("/").filter((c) => c !== "");
  let prefixes = [absolute ? "/" : ""];
  for (const component of components) {
    const next: string[] = [];
    for (const prefix of prefixes) {
      if (!MAGIC.test(component)) {
        next.push(prefix + component);
        continue;
      }
      const re = componentRegExp(component);
      const hidden = component.startsWith(".");
      for (const name of listDir(prefix)) {
        if (name.startsWith(".") && !hidden) continue;
        if (re.test(name)) next.push(prefix + name);
      }
    }
    prefixes = next.map((p) => `${p}/`);
  }
  return prefixes.map((p) => p.slice(0, -1)).filter(exists).sort();
}
