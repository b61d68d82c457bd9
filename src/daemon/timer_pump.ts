/**
 * Drives the engine's timer heap with a single OS timer, always armed for
 * the earliest entry and re-armed whenever an earlier one is scheduled: no
 * timer per SA however many SAs there are.
 */
import type { Engine } from "../ike/engine.ts";

/** Longest delay setTimeout accepts. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Starts pumping; `stop()` disarms the OS timer (at shutdown). */
export function pumpTimers(engine: Engine, onError?: (text: string) => void): { stop(): void } {
  let armed: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    if (armed !== undefined) clearTimeout(armed);
    armed = undefined;
    const due = engine.nextDue();
    if (due === undefined) return;
    armed = setTimeout(() => {
      armed = undefined;
      try {
        engine.tick();
      } catch (e) {
        // One failing event must not take the daemon (and every other SA) down.
        onError?.(`timer: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      } finally {
        arm();
      }
    }, Math.max(0, Math.min(due - engine.now(), MAX_DELAY_MS)));
  };
  engine.timers.onEarliest = arm;
  arm();
  return {
    stop: () => {
      engine.timers.onEarliest = undefined;
      if (armed !== undefined) clearTimeout(armed);
      armed = undefined;
    },
  };
}
