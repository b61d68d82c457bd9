/**
 * Carries out whack requests: connection adds, listen, initiate, delete,
 * status and the rest, answering on the whack session with Libreswan's texts
 * and reply codes.
 */
import { buildConnection } from "../config/connection.ts";
import { RC } from "../control/reply.ts";
import type { WhackCommand, WhackRequest } from "../control/request.ts";
import {
  renderBriefStatus,
  renderConnectionStatus,
  renderGlobalStatus,
  renderShuntStatus,
  showStatesLines,
  statusLines,
  trafficStatusLines,
} from "../control/status_text.ts";
import type { StatusSource } from "../control/status_model.ts";
import { rekeyConnection } from "../ike/create_child_sa.ts";
import type { Engine } from "../ike/engine.ts";
import type { WhackObserver } from "../ike/ike_sa.ts";

/** What the handler needs from the daemon around the engine. */
export interface DaemonControl {
  engine: Engine;
  status(): StatusSource;
  /** `--listen`: rescan interfaces, reload secrets; lines go to `say`. */
  listen(say: (text: string) => void): Promise<void>;
  unlisten(say: (text: string) => void): void;
  rereadSecrets(say: (text: string) => void): void;
  listPsks(): string[];
  setDebug(set: string[], clear: string[]): string | undefined;
  shutdown(leaveState: boolean): void;
}

/** The whack conversation as the handler sees it (control_server.ts WhackSession). */
export interface WhackReply extends WhackObserver {
  /** Whack went away or the reply is complete. */
  readonly finished: boolean;
  /** Resolves once the lines given so far have been written. */
  drained(): Promise<void>;
}

/**
 * How long a long listing renders before its lines are written and the event
 * loop (IKE packets, timers, other whacks) gets a turn: a 20 MB `--status`
 * (10^5 states, ~150–250 ms of rendering) takes ~6–10 slices, the daemon
 * holds at most one slice of reply text (~2 MB) instead of the whole reply,
 * and a handshake waits at most one slice (retransmits start at 500 ms).
 * Smaller units cost more turns, each tens of ms on a daemon busy with
 * handshakes (1,000-line chunks: ~200 turns); see bench/RESULTS.md round 4.
 */
const SLICE_MS = 25;

/** Lines rendered between looks at the clock. */
const LINES_PER_CLOCK_READ = 256;

/**
 * Writes `lines` slice by slice as they are rendered, then ends the reply;
 * stops rendering if whack goes away.
 */
export async function streamLines(
  w: WhackReply,
  lines: Iterable<string>,
  sliceMs = SLICE_MS,
): Promise<void> {
  let n = 0, sliceEnd = performance.now() + sliceMs;
  for (const line of lines) {
    w.line(line);
    if (++n % LINES_PER_CLOCK_READ === 0 && performance.now() >= sliceEnd) {
      await w.drained();
      if (w.finished) return;
      sliceEnd = performance.now() + sliceMs;
    }
  }
  w.finish(0);
}

export async function handleWhack(
  d: DaemonControl,
  req: WhackRequest,
  w: WhackReply,
): Promise<void> {
  if (req.shutdown) {
    w.line("Pluto is shutting down");
    d.shutdown(req.leaveState ?? false);
    return; // The session closes when pluto exits.
  }
  if (req.status) return await streamLines(w, statusLines(d.status()));
  const cmd = req.command;
  if (!cmd) {
    w.line("whack message rejected: no command");
    w.finish(RC.BADWHACKMESSAGE);
    return;
  }
  await run(d, cmd, req.asynchronous ?? false, w);
}

async function run(
  d: DaemonControl,
  cmd: WhackCommand,
  async: boolean,
  w: WhackReply,
): Promise<void> {
  const e = d.engine;
  const lines = (ls: string[]) => {
    for (const l of ls) w.line(l);
    w.finish(0);
  };
  switch (cmd.kind) {
    case "add": {
      const built = buildConnection(cmd.connection);
      if (!built.ok) {
        w.line(`"${cmd.connection.name}": failed to add connection: ${built.error}`);
        w.finish(RC.FATAL);
        return;
      }
      e.addConnection(built.value, w);
      return;
    }
    case "listen":
      await d.listen((t) => w.line(t));
      w.finish(0);
      return;
    case "unlisten":
      d.unlisten((t) => w.line(t));
      w.finish(0);
      return;
    case "initiate":
      if (cmd.remoteHost !== undefined) {
        w.line(`"${cmd.name}": --remote-host is not supported by swan yet`);
        w.finish(RC.FATAL);
        return;
      }
      e.initiate(cmd.name, w, async);
      return;
    case "terminate":
      e.terminate(cmd.name, w);
      return;
    case "delete":
      e.deleteConnection(cmd.name, w);
      return;
    case "deletestate":
      e.deleteState(cmd.serial, w);
      return;
    case "route":
      await e.routing.route(cmd.name, w);
      return;
    case "unroute":
      await e.routing.unroute(cmd.name, w);
      return;
    case "rekey-ike":
    case "rekey-child":
      rekeyConnection(e, cmd.name, cmd.kind === "rekey-ike" ? "ike" : "child", w, async);
      return;
    case "rereadsecrets":
      d.rereadSecrets((t) => w.line(t));
      w.finish(0);
      return;
    case "trafficstatus":
      return await streamLines(w, trafficStatusLines(d.status(), cmd.name));
    case "showstates":
      return await streamLines(w, showStatesLines(d.status()));
    case "briefstatus":
      return lines(renderBriefStatus(d.status()));
    case "connectionstatus":
      return lines(renderConnectionStatus(d.status(), cmd.name));
    case "globalstatus":
      return lines(
        renderGlobalStatus(
          d.status(),
          Object.fromEntries([...e.counters, ...(e.deps.kernel.counters?.() ?? [])]),
        ),
      );
    case "shuntstatus":
      return lines(renderShuntStatus(d.status()));
    case "listpsks":
      return lines(d.listPsks());
    case "debug": {
      if (cmd.name !== undefined) {
        w.line(
          `"${cmd.name}": per-connection debugging is not supported by swan yet; use --debug without --name`,
        );
        w.finish(RC.FATAL);
        return;
      }
      const err = d.setDebug(cmd.set, cmd.clear);
      if (err) {
        w.line(err);
        w.finish(RC.FATAL);
        return;
      }
      w.finish(0);
      return;
    }
    default: {
      // A whack from another build may send a command this pluto does not know.
      const kind = (cmd as { kind?: unknown }).kind;
      w.line(`whack message rejected: unknown command ${JSON.stringify(kind)}`);
      w.finish(RC.BADWHACKMESSAGE);
    }
  }
}
