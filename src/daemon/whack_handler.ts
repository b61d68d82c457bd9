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
  renderShowStates,
  renderShuntStatus,
  renderStatus,
  renderTrafficStatus,
} from "../control/status_text.ts";
import type { StatusModel } from "../control/status_model.ts";
import { rekeyConnection } from "../ike/create_child_sa.ts";
import type { Engine } from "../ike/engine.ts";
import type { WhackObserver } from "../ike/ike_sa.ts";

/** What the handler needs from the daemon around the engine. */
export interface DaemonControl {
  engine: Engine;
  status(): StatusModel;
  /** `--listen`: rescan interfaces, reload secrets; lines go to `say`. */
  listen(say: (text: string) => void): Promise<void>;
  unlisten(say: (text: string) => void): void;
  rereadSecrets(say: (text: string) => void): void;
  listPsks(): string[];
  setDebug(set: string[], clear: string[]): string | undefined;
  shutdown(leaveState: boolean): void;
}

export async function handleWhack(
  d: DaemonControl,
  req: WhackRequest,
  w: WhackObserver,
): Promise<void> {
  if (req.shutdown) {
    w.line("Pluto is shutting down");
    d.shutdown(req.leaveState ?? false);
    return; // The session closes when pluto exits.
  }
  if (req.status) {
    for (const l of renderStatus(d.status())) w.line(l);
    w.finish(0);
    return;
  }
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
  w: WhackObserver,
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
      return lines(renderTrafficStatus(d.status(), cmd.name));
    case "showstates":
      return lines(renderShowStates(d.status()));
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
      const err = d.setDebug(cmd.set, cmd.clear);
      if (err) {
        w.line(err);
        w.finish(RC.FATAL);
        return;
      }
      w.finish(0);
      return;
    }
  }
}
