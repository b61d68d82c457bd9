/**
 * ipsec.secrets: lexing, include handling and PSK lookup, following
 * Libreswan's file format (see the interface reference §6.1). File access
 * is injected (`SecretsFs`) so the parser is pure and testable.
 *
 * No message produced here ever contains secret bytes: tokens that might
 * be secrets (the value after PSK/XAUTH/PPKS, an unknown keyword, an
 * index list with no `:`) are described, not echoed.
 */

import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import { expandGlob } from "./glob.ts";
import {
  ID_IPV4_ADDR,
  ID_IPV6_ADDR,
  idEquals,
  idFromWire,
  type IkeId,
  isAnyId,
  parseId,
} from "./ids.ts";
import type { ValueResult } from "./values.ts";

/** One loaded secret. `indices` is empty for an index-less (`: PSK "x"`) entry. */
export interface SecretEntry {
  kind: "PSK" | "XAUTH" | "PPKS";
  indices: IkeId[];
  /** the PSK, XAUTH password or PPK */
  secret: Uint8Array;
  /** PPKS only: the PPK identity */
  ppkId?: Uint8Array;
  file: string;
  /** line of the entry's first token */
  line: number;
}

/** The file operations the loader needs. */
export interface SecretsFs {
  /** The file's text; may throw when it cannot be read. */
  readTextFile(path: string): string;
  /** Existing paths matching a shell glob, sorted. */
  expandGlob(pattern: string): string[];
  /** mode bits */
  mode(path: string): number | undefined;
}

/** What loading produced: entries in file order and the messages to log. */
export interface SecretsLoad {
  entries: SecretEntry[];
  /** informational lines (`loading secrets from "…"`) */
  log: string[];
  warnings: string[];
  errors: string[];
}

/** Libreswan's limit on include nesting. */
const MAX_INCLUDE_DEPTH = 10;
/** Shorter PSKs draw a warning (Libreswan's threshold). */
const WEAK_PSK_LENGTH = 8;
/** Historic keywords that are safe to echo when ignored (they are not secrets). */
const KNOWN_IGNORED_KEYWORDS = new Set(["RSA", "ECDSA", "EDDSA", "PIN"]);

interface Token {
  text: string;
  /** written between quotes (so never a `:` separator or a keyword) */
  quoted: boolean;
  line: number;
}

/** A record: a token in column 1 plus the tokens of any indented continuation lines. */
interface SecretsRecord {
  tokens: Token[];
  /** unusable (an unterminated string was reported) */
  broken: boolean;
}

/** Reports `"<file>" line N: <text>` errors for one file. */
interface Reporter {
  error(line: number, text: string): void;
}

/**
 * Splits a file into records. Whitespace separates tokens; `#` at the
 * start of a token begins a comment; `"…"`, `'…'` and `` `…` `` quote a
 * token; a `0t` token runs to the end of the line; a trailing `:` is split
 * off as its own token.
 */
function lex(text: string, report: Reporter): SecretsRecord[] {
  const records: SecretsRecord[] = [];
  let current: SecretsRecord | undefined;
  let reportedIndent = false;
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = lines[index].replace(/\s+$/, "");
    let pos = 0;
    while (pos < line.length) {
      const c = line[pos];
      if (c === " " || c === "\t") {
        pos++;
        continue;
      }
      if (c === "#") break;
      if (pos === 0) {
        current = { tokens: [], broken: false };
        records.push(current);
      } else if (current === undefined) {
        if (!reportedIndent) {
          report.error(lineNumber, "file starts with indentation (continuation notation)");
          reportedIndent = true;
        }
        break;
      }
      if (c === '"' || c === "'" || c === "`") {
        const close = line.indexOf(c, pos + 1);
        if (close < 0) {
          report.error(lineNumber, "unterminated string");
          current.broken = true;
          break;
        }
        current.tokens.push({ text: line.slice(pos + 1, close), quoted: true, line: lineNumber });
        pos = close + 1;
        continue;
      }
      if (line.startsWith("0t", pos) || line.startsWith("0T", pos)) {
        current.tokens.push({ text: line.slice(pos), quoted: false, line: lineNumber });
        break;
      }
      let end = pos;
      while (end < line.length && line[end] !== " " && line[end] !== "\t") end++;
      if (end - pos > 1 && line[end - 1] === ":") end--;
      current.tokens.push({ text: line.slice(pos, end), quoted: false, line: lineNumber });
      pos = end;
    }
  }
  return records;
}

/** Decodes Libreswan "ttodata" notation: 0x hex (with `_`), 0s base64, 0t text. */
function decodeData(text: string): ValueResult<Uint8Array> {
  const prefix = text.slice(0, 2).toLowerCase();
  const body = text.slice(2);
  switch (prefix) {
    case "0x": {
      const digits = body.replace(/_/g, "");
      if (digits === "") return { ok: false, error: "no hex digits after 0x" };
      const bad = digits.search(/[^0-9A-Fa-f]/);
      if (bad >= 0) return { ok: false, error: `non-hex character at hex digit ${bad + 1}` };
      if (digits.length % 2 !== 0) return { ok: false, error: "odd number of hex digits" };
      return { ok: true, value: Uint8Array.from(Buffer.from(digits, "hex")) };
    }
    case "0s":
      if (body === "" || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
        return { ok: false, error: "not valid base64 after 0s" };
      }
      return { ok: true, value: Uint8Array.from(Buffer.from(body, "base64")) };
    case "0t":
      return { ok: true, value: new TextEncoder().encode(body) };
    default:
      return {
        ok: false,
        error: `unknown format; write a "quoted string", 0x<hex>, 0s<base64> or 0t<text>`,
      };
  }
}

function secretValue(token: Token): ValueResult<Uint8Array> {
  return token.quoted
    ? { ok: true, value: new TextEncoder().encode(token.text) }
    : decodeData(token.text);
}

/** Parses one index; `%any` / `%any6` are the IPv4 / IPv6 any-addresses, as in Libreswan. */
function parseIndex(text: string): ValueResult<IkeId> {
  if (text === "%any") return { ok: true, value: idFromWire(ID_IPV4_ADDR, new Uint8Array(4)) };
  if (text === "%any6") return { ok: true, value: idFromWire(ID_IPV6_ADDR, new Uint8Array(16)) };
  return parseId(text);
}

class Loader {
  readonly result: SecretsLoad = { entries: [], log: [], warnings: [], errors: [] };

  constructor(private readonly fs: SecretsFs) {}

  loadPattern(pattern: string, depth: number): void {
    if (depth > MAX_INCLUDE_DEPTH) {
      this.result.errors.push(`preshared secrets file "${pattern}" nested too deeply`);
      return;
    }
    const files = this.fs.expandGlob(pattern);
    if (files.length === 0) {
      this.result.log.push(`no secrets filename matched "${pattern}"`);
      return;
    }
    for (const file of files) this.loadFile(file, depth);
  }

  private loadFile(file: string, depth: number): void {
    let text: string;
    try {
      text = this.fs.readTextFile(file);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.result.errors.push(`could not open "${file}": ${why}`);
      return;
    }
    this.result.log.push(`loading secrets from "${file}"`);
    const mode = this.fs.mode(file);
    if (mode !== undefined && (mode & 0o044) !== 0) {
      this.result.warnings.push(`WARNING: "${file}" is readable by others; chmod 600 it`);
    }
    const report: Reporter = {
      error: (line, message) => this.result.errors.push(`"${file}" line ${line}: ${message}`),
    };
    for (const record of lex(text, report)) {
      if (!record.broken) this.processRecord(record.tokens, file, depth, report);
    }
  }

  private processRecord(tokens: Token[], file: string, depth: number, report: Reporter): void {
    const first = tokens[0];
    if (!first.quoted && first.text.toLowerCase() === "include") {
      this.processInclude(tokens, file, depth, report);
      return;
    }
    const colon = tokens.findIndex((t) => t.text === ":" && !t.quoted);
    if (colon < 0) {
      // Without a ":" we cannot tell indices from a secret, so echo nothing.
      report.error(tokens[tokens.length - 1].line, "unexpected end of id list");
      return;
    }
    const indices: IkeId[] = [];
    let badIndex = false;
    for (const token of tokens.slice(0, colon)) {
      const id = parseIndex(token.text);
      if (id.ok) {
        indices.push(id.value);
      } else {
        this.result.errors.push(
          `ERROR "${file}" line ${token.line}: index "${token.text}" ${id.error}`,
        );
        badIndex = true;
      }
    }
    // Libreswan keeps the entry minus the bad index, which can silently widen
    // what it matches; swan drops the whole entry instead.
    if (badIndex) return;
    this.processKey(tokens, colon, indices, file, report);
  }

  private processInclude(tokens: Token[], file: string, depth: number, report: Reporter): void {
    if (tokens.length < 2) {
      report.error(tokens[0].line, "unexpected end of include directive");
      return;
    }
    if (tokens.length > 2) {
      report.error(
        tokens[2].line,
        "ignoring malformed INCLUDE -- expected Record Boundary after filename",
      );
      return;
    }
    const path = tokens[1].text;
    const slash = file.lastIndexOf("/");
    const resolved = path.startsWith("/") || slash < 0 ? path : file.slice(0, slash + 1) + path;
    this.loadPattern(resolved, depth + 1);
  }

  private processKey(
    tokens: Token[],
    colon: number,
    indices: IkeId[],
    file: string,
    report: Reporter,
  ): void {
    const line = tokens[0].line;
    const keyword = tokens[colon + 1];
    if (keyword === undefined || keyword.quoted) {
      report.error(tokens[colon].line, `ERROR: expected PSK, XAUTH or PPKS after ":"`);
      return;
    }
    const kind = keyword.text.toUpperCase();
    if (kind !== "PSK" && kind !== "XAUTH" && kind !== "PPKS") {
      const shown = KNOWN_IGNORED_KEYWORDS.has(kind)
        ? `: ${keyword.text}`
        : ` (not shown: it may be a secret)`;
      this.result.warnings.push(
        `"${file}" line ${keyword.line}: WARNING: ignored unrecognized keyword${shown}`,
      );
      return;
    }
    let next = colon + 2;
    let ppkId: Uint8Array | undefined;
    if (kind === "PPKS") {
      const idToken = tokens[next];
      if (idToken === undefined || !idToken.quoted) {
        report.error(keyword.line, "ERROR: PPK ID should be in quotation marks");
        return;
      }
      ppkId = new TextEncoder().encode(idToken.text);
      next++;
    }
    const valueToken = tokens[next];
    if (valueToken === undefined) {
      report.error(
        keyword.line,
        kind === "PPKS"
          ? "ERROR: No PPK found. PPK should be specified after PPK ID"
          : `ERROR: unexpected end of record in ${kind}`,
      );
      return;
    }
    const value = secretValue(valueToken);
    if (!value.ok) {
      report.error(
        valueToken.line,
        `${kind === "PPKS" ? "PPK" : kind} data malformed (${value.error})`,
      );
      return;
    }
    if (next + 1 < tokens.length) {
      report.error(tokens[next + 1].line, "expected record boundary in key");
      return;
    }
    if (kind === "PSK" && value.value.length < WEAK_PSK_LENGTH) {
      this.result.warnings.push(`"${file}" line ${line}: WARNING: using a weak secret (PSK)`);
    }
    this.result.entries.push({ kind, indices, secret: value.value, ppkId, file, line });
  }
}

/**
 * Loads every file matching `pattern` (a glob), following `include`
 * lines. Logs `loading secrets from "<file>"` per file and
 * `no secrets filename matched "<pattern>"`; warns about group/other
 * readable files (`WARNING: "<file>" is readable by others; chmod 600 it`),
 * weak PSKs (fewer than 8 bytes) and ignored keywords (`RSA`); reports
 * malformed records as `"<file>" line N: …` and bad indices as
 * `ERROR "<file>" line N: index "<tok>" <why>`. Includes are relative to
 * the including file's directory and nest at most 10 deep. Secret bytes
 * never appear in any message.
 */
export function loadSecrets(pattern: string, fs: SecretsFs): SecretsLoad {
  const loader = new Loader(fs);
  loader.loadPattern(pattern, 0);
  return loader.result;
}

/** Real files: Deno's synchronous file API and glob.ts. */
export const denoSecretsFs: SecretsFs = {
  readTextFile: (path) => Deno.readTextFileSync(path),
  expandGlob,
  mode: (path) => {
    try {
      return Deno.statSync(path).mode ?? undefined;
    } catch {
      return undefined;
    }
  },
};

/*
 * PSK selection follows Libreswan's scoring: each entry earns bits for
 * what its indices matched, and the highest accepted score wins.
 */
const MATCH_DEFAULT = 0o01;
const MATCH_ANY = 0o02;
const MATCH_REMOTE = 0o04;
const MATCH_LOCAL = 0o10;

/**
 * Scores Libreswan accepts for a symmetric (PSK) secret, best last:
 * index-less; only wildcards; remote + wildcard; a single index naming
 * the local ID ("any peer"); local + wildcard; both IDs named. A
 * combination not listed (say, an entry naming the local ID plus a third
 * party, or three indices including a wildcard) never matches. Libreswan
 * scores an index-less entry like `%any %any`; swan ranks it below, as
 * the documented rule "index-less is the fallback" says.
 */
const ACCEPTED_SCORES = new Set([
  MATCH_DEFAULT,
  MATCH_ANY,
  MATCH_REMOTE | MATCH_ANY,
  MATCH_LOCAL | MATCH_DEFAULT,
  MATCH_LOCAL | MATCH_ANY,
  MATCH_LOCAL | MATCH_REMOTE,
]);

/** Libreswan's same_id: an unknown (wildcard) actual ID is matched by any index. */
function indexNames(index: IkeId, actual: IkeId): boolean {
  return actual.type === 0 || idEquals(index, actual);
}

function score(entry: SecretEntry, local: IkeId, remote: IkeId): number {
  if (entry.indices.length === 0) return MATCH_DEFAULT;
  let match = 0;
  for (const index of entry.indices) {
    if (isAnyId(index)) {
      match |= MATCH_ANY;
      continue;
    }
    if (indexNames(index, local)) match |= MATCH_LOCAL;
    if (indexNames(index, remote)) match |= MATCH_REMOTE;
  }
  // A single index naming us is a PSK for any peer.
  if (match === MATCH_LOCAL && entry.indices.length === 1) match |= MATCH_DEFAULT;
  return match;
}

function sameSecret(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The PSK for (local, remote): the most specific entry wins — both IDs
 * named, then local + `%any`, then a single index naming the local ID,
 * then remote + `%any`, then `%any` only, then an index-less entry.
 * Equally good entries with different secrets make the answer ambiguous:
 * `undefined` (Libreswan silently picks one; swan refuses to guess).
 */
export function findPsk(
  entries: SecretEntry[],
  local: IkeId,
  remote: IkeId,
): Uint8Array | undefined {
  let best = 0;
  let found: Uint8Array | undefined;
  let ambiguous = false;
  for (const entry of entries) {
    if (entry.kind !== "PSK") continue;
    const s = score(entry, local, remote);
    if (!ACCEPTED_SCORES.has(s) || s < best) continue;
    if (s > best) {
      best = s;
      found = entry.secret;
      ambiguous = false;
    } else if (found !== undefined && !sameSecret(found, entry.secret)) {
      ambiguous = true;
    }
  }
  return ambiguous ? undefined : found;
}
