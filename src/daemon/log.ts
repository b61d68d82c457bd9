/**
 * pluto's logger: one line per record, written synchronously to stderr, a
 * file or syslog, and copied (without timestamp, without debug lines) to the
 * whack clients attached to the daemon, exactly as Libreswan 5.x does.
 *
 * File/stderr line: `[<Mon dd HH:MM:SS.uuuuuu>: ]<stream-prefix><object-prefix><text>`.
 */

import { openSyslogSink, syslogTime } from "./syslog.ts";

/** Which stream a record belongs to; selects the line prefix and the syslog severity. */
export type LogStream = "normal" | "debug" | "warning" | "error";

/** Where log lines go. `write` receives one complete line without newline. */
export interface LogSink {
  write(line: string, stream?: LogStream): void;
  close?(): void;
  /** True when the destination timestamps lines itself (syslog), so the logger must not. */
  readonly selfStamped?: boolean;
}

/** Logger configuration, mirroring pluto's `--stderrlog`/`logfile=`, `logtime=`, `plutodebug=`, `logip=`. */
export interface LoggerOptions {
  sink: LogSink;
  /** Prefix file/stderr lines with a timestamp (`logtime=yes`). */
  time: boolean;
  /**
   * Time source for timestamps. Without it the logger reads the
   * high-resolution clock and prints real microseconds; a `Date` carries
   * milliseconds only, so an injected clock prints `…mmm000`.
   */
  clock?: () => Date;
  /** Initially enabled debug flags or aliases (`plutodebug=`). */
  debug: Set<string>;
  /** `logip=`: when false, callers print addresses as `<address>` (see {@link Logger.address}). */
  logIp: boolean;
}

/** Stream prefixes, as Libreswan 5.x writes them. */
const STREAM_PREFIX: Record<LogStream, string> = {
  normal: "",
  debug: "| ",
  warning: "warning: ",
  error: "ERROR: ",
};

/** Libreswan's debug flags, in the order `debug:` lists them. */
export const DEBUG_FLAGS = [
  "routing",
  "base",
  "cpu-usage",
  "refcnt",
  "tmi",
  "updown",
  "crypt",
  "private",
  "whackwatch",
  "add-prefix",
  "add-state",
] as const;

/** Aliases for sets of flags (`none` clears everything and is handled apart). */
const DEBUG_ALIASES: Record<string, readonly string[]> = {
  base: ["routing", "base"],
  all: ["routing", "base", "cpu-usage", "refcnt"],
  tmi: ["routing", "base", "cpu-usage", "refcnt", "tmi"],
};

const KNOWN_FLAGS: ReadonlySet<string> = new Set(DEBUG_FLAGS);

/** The flags a debug name stands for, or undefined for an unknown name. */
function expandDebugName(name: string): readonly string[] | undefined {
  return DEBUG_ALIASES[name] ?? (KNOWN_FLAGS.has(name) ? [name] : undefined);
}

/** pluto's logger; see the module comment for the line format. */
export class Logger {
  /** `logip=`: whether addresses may be printed. */
  readonly logIp: boolean;
  readonly #sink: LogSink;
  readonly #time: boolean;
  readonly #clock?: () => Date;
  readonly #flags = new Set<string>();
  readonly #observers = new Set<(line: string) => void>();

  constructor(opts: LoggerOptions) {
    this.#sink = opts.sink;
    this.#time = opts.time;
    this.#clock = opts.clock;
    this.logIp = opts.logIp;
    const unknown = this.setDebug([...opts.debug], []);
    if (unknown !== undefined) this.log("", unknown, "warning");
  }

  /**
   * Log `text` under an object prefix: `""` (global), `"conn": ` or
   * `"conn" #3: `. Text with embedded newlines becomes several lines, since
   * both the log and the whack reply stream are line-framed.
   */
  log(prefix: string, text: string, stream: LogStream = "normal"): void {
    for (const part of text.split("\n")) {
      const line = STREAM_PREFIX[stream] + prefix + part;
      this.#write(line, stream);
      if (stream !== "debug") this.#notify(line);
    }
  }

  /**
   * Log a debug line (`| …`) when `flag` is enabled. Like pluto, the object
   * prefix is only kept when the `add-prefix` flag is on.
   */
  debug(flag: string, prefix: string, text: string): void {
    if (!this.isDebug(flag)) return;
    this.log(this.isDebug("add-prefix") ? prefix : "", text, "debug");
  }

  /** Whether a debug flag (`base`, `private`, …) is enabled. */
  isDebug(flag: string): boolean {
    return this.#flags.has(flag);
  }

  /** The enabled debug flags in Libreswan's order, as `whack --status` lists them. */
  get debugFlags(): string[] {
    return DEBUG_FLAGS.filter((f) => this.#flags.has(f));
  }

  /**
   * Enable the flags or aliases in `set` (`none` first clears everything),
   * then disable those in `clear`. Unknown names are skipped, as pluto
   * skips them; the returned text names them for the caller to report.
   */
  setDebug(set: string[], clear: string[]): string | undefined {
    const unknown: string[] = [];
    const apply = (names: string[], change: (flag: string) => void) => {
      for (const name of names) {
        const flags = expandDebugName(name);
        if (flags === undefined) unknown.push(name);
        else flags.forEach(change);
      }
    };
    if (set.includes("none")) this.#flags.clear();
    apply(set.filter((n) => n !== "none"), (f) => this.#flags.add(f));
    apply(clear, (f) => this.#flags.delete(f));
    if (unknown.length === 0) return undefined;
    const quoted = unknown.map((n) => `'${n}'`).join(", ");
    return `unrecognized --debug ${quoted} option${unknown.length > 1 ? "s" : ""} ignored`;
  }

  /**
   * Attach an observer (an attached whack socket); it receives every
   * non-debug line, without timestamp. An observer that throws (its client
   * went away) is detached so it cannot break logging. Returns the detach
   * function.
   */
  attach(observer: (line: string) => void): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** `address` itself, or `<address>` when `logip=no`. */
  address(address: string): string {
    return this.logIp ? address : "<address>";
  }

  #write(line: string, stream: LogStream): void {
    const stamped = this.#time && !this.#sink.selfStamped;
    this.#sink.write(stamped ? `${this.#timestamp()}: ${line}` : line, stream);
  }

  #notify(line: string): void {
    for (const observer of this.#observers) {
      try {
        observer(line);
      } catch {
        this.#observers.delete(observer);
      }
    }
  }

  /** `%b %e %T.%06ld` in local time. */
  #timestamp(): string {
    let date: Date;
    let micros: number;
    if (this.#clock !== undefined) {
      date = this.#clock();
      micros = date.getMilliseconds() * 1000;
    } else {
      const epochMs = performance.timeOrigin + performance.now();
      date = new Date(Math.floor(epochMs));
      micros = Math.floor((epochMs % 1000) * 1000);
    }
    return `${syslogTime(date)}.${String(micros).padStart(6, "0")}`;
  }
}

/** Write all of `data` with `writeSync`, looping over short writes. */
function writeAll(writer: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writer.writeSync(data.subarray(off));
}

const encoder = new TextEncoder();

/** Lines to standard error (`--stderrlog`), one synchronous write each. */
export function stderrSink(): LogSink {
  return { write: (line) => writeAll(Deno.stderr, encoder.encode(line + "\n")) };
}

/**
 * Lines to a file (`logfile=`), appended or truncated on open
 * (`logappend=`). Each line is one `write(2)` on an `O_APPEND` descriptor
 * when appending, so concurrent writers never interleave within a line.
 */
export function fileSink(path: string, append: boolean): LogSink {
  const file = Deno.openSync(path, { write: true, create: true, append, truncate: !append });
  return {
    write: (line) => writeAll(file, encoder.encode(line + "\n")),
    close: () => file.close(),
  };
}

/** Lines to syslog (ident `pluto`, `LOG_PID`, facility authpriv) on `/dev/log`, or stderr when absent. */
export function syslogSink(): LogSink {
  return openSyslogSink({ fallback: stderrSink });
}
