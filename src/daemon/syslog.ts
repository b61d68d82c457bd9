/**
 * The syslog log sink: RFC 3164 datagrams to the local syslog socket, as
 * glibc's `syslog(3)` sends them for pluto (`openlog("pluto", LOG_PID,
 * LOG_AUTHPRIV)`). Deno has no stable Unix datagram API, so the socket goes
 * through the libc FFI table.
 */

import {
  AF_UNIX,
  close,
  connect,
  MSG_NOSIGNAL,
  send,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  sockaddrUn,
  socket,
} from "../../ffi/libc.ts";
import type { LogSink, LogStream } from "./log.ts";

/** `LOG_AUTHPRIV`: security messages that may carry private detail. */
export const LOG_AUTHPRIV = 10 << 3;
/** Syslog severities pluto uses. */
export const LOG_ERR = 3;
/** Normal lines go out at WARNING, as pluto logs them. */
export const LOG_WARNING = 4;
/** Debug lines. */
export const LOG_DEBUG = 7;

/** Severity per log stream. */
const SEVERITY: Record<LogStream, number> = {
  normal: LOG_WARNING,
  warning: LOG_WARNING,
  error: LOG_ERR,
  debug: LOG_DEBUG,
};

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `Mon dd HH:MM:SS` in local time with the day space-padded (`%b %e %T`), shared with the file log stamp. */
export function syslogTime(t: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[t.getMonth()]} ${String(t.getDate()).padStart(2, " ")} ${two(t.getHours())}:${
    two(t.getMinutes())
  }:${two(t.getSeconds())}`;
}

/** One RFC 3164 message as sent to the local socket (no hostname, as glibc omits it there). */
export function formatSyslogMessage(
  priority: number,
  time: Date,
  ident: string,
  pid: number,
  text: string,
): string {
  return `<${priority}>${syslogTime(time)} ${ident}[${pid}]: ${text}`;
}

/** Where and how to send; everything is injectable for tests. */
export interface SyslogOptions {
  /** The syslog socket; `/dev/log` by default. */
  path?: string;
  ident?: string;
  facility?: number;
  pid?: number;
  clock?: () => Date;
  /** Sink used when the socket cannot be reached (stderr in the daemon). */
  fallback: () => LogSink;
}

/** An open datagram socket connected to the syslog path; throws ErrnoError. */
function connectSyslog(path: string): number {
  const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, path);
  try {
    connect(fd, sockaddrUn(path), path);
  } catch (e) {
    close(fd, path);
    throw e;
  }
  return fd;
}

/**
 * A sink that sends each line to syslog. When the socket cannot be reached
 * (no syslog daemon, e.g. in a container) lines go to the fallback sink
 * instead, announced once with a warning line; a send that fails after a
 * syslog daemon restart reconnects once before falling back.
 */
export function openSyslogSink(opts: SyslogOptions): LogSink {
  const path = opts.path ?? "/dev/log";
  const ident = opts.ident ?? "pluto";
  const facility = opts.facility ?? LOG_AUTHPRIV;
  const pid = opts.pid ?? Deno.pid;
  const clock = opts.clock ?? (() => new Date());
  const encoder = new TextEncoder();

  const fallBack = (why: unknown): LogSink => {
    const sink = opts.fallback();
    sink.write(
      `warning: cannot log to syslog (${errorText(why)}); logging to stderr instead`,
      "warning",
    );
    return sink;
  };

  let fd: number;
  try {
    fd = connectSyslog(path);
  } catch (e) {
    return fallBack(e);
  }

  let fallback: LogSink | undefined;
  const sendLine = (data: Uint8Array) => send(fd, data, MSG_NOSIGNAL, path);

  return {
    selfStamped: true,
    write(line: string, stream: LogStream = "normal"): void {
      if (fallback !== undefined) {
        fallback.write(line, stream);
        return;
      }
      const message = formatSyslogMessage(facility | SEVERITY[stream], clock(), ident, pid, line);
      const data = encoder.encode(message);
      try {
        sendLine(data);
      } catch {
        try {
          close(fd, path);
          fd = connectSyslog(path);
          sendLine(data);
        } catch (e) {
          fallback = fallBack(e);
          fallback.write(line, stream);
        }
      }
    },
    close(): void {
      if (fallback !== undefined) fallback.close?.();
      else close(fd, path);
    },
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
