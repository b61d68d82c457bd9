/**
 * Waiting for several descriptors without stalling the event loop and
 * without burning CPU when idle: `poll(2)` runs on an FFI worker thread
 * (the symbol is bound `nonblocking`), together with an eventfd so that
 * {@link ReadinessWaiter.wake} ends a wait at once — when the set of
 * descriptors changes, or to shut down.
 */
import { ErrnoError, lastErrno, libc } from "./libc.ts";

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const POLLIN = 0x1;
/** `sizeof(struct pollfd)`: fd (int), events (short), revents (short). */
const POLLFD_BYTES = 8;

/** Waits on an FFI thread for descriptors to become readable. */
export class ReadinessWaiter {
  #wakeFd: number;
  #waiting: Promise<number> | undefined;
  #closed = false;

  private constructor(wakeFd: number) {
    this.#wakeFd = wakeFd;
  }

  /** Creates the wake-up eventfd; throws {@link ErrnoError} (`eventfd: EMFILE`). */
  static open(): ReadinessWaiter {
    const fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw new ErrnoError("eventfd", lastErrno());
    return new ReadinessWaiter(fd);
  }

  /**
   * Resolves after at most `timeoutMs` with, per descriptor of `fds`, whether
   * it is readable: all false after a timeout, a {@link wake}, or once
   * closed; undefined when `poll` failed (a signal interrupted it, most
   * likely; its errno lives on the worker thread). One wait at a time. A
   * descriptor closed meanwhile is reported not readable (POLLNVAL).
   */
  async wait(fds: readonly number[], timeoutMs: number): Promise<boolean[] | undefined> {
    const none = fds.map(() => false);
    if (this.#closed) return none;
    // A fresh array per wait: the worker thread reads it while we go on.
    const pollFds = new Uint8Array(new ArrayBuffer(POLLFD_BYTES * (fds.length + 1)));
    const view = new DataView(pollFds.buffer);
    [...fds, this.#wakeFd].forEach((fd, i) => {
      view.setInt32(i * POLLFD_BYTES, fd, true);
      view.setInt16(i * POLLFD_BYTES + 4, POLLIN, true);
    });
    const waiting = libc().poll(pollFds, BigInt(fds.length + 1), timeoutMs);
    this.#waiting = waiting;
    const ready = await waiting;
    this.#waiting = undefined;
    if (ready < 0) return undefined;
    if (ready === 0) return none;
    if ((view.getInt16(fds.length * POLLFD_BYTES + 6, true) & POLLIN) !== 0) {
      // Drain the eventfd so the next wait blocks again.
      libc().read(this.#wakeFd, new Uint8Array(8), 8n);
    }
    return fds.map((_, i) => (view.getInt16(i * POLLFD_BYTES + 6, true) & POLLIN) !== 0);
  }

  /** Ends the current {@link wait} now (or makes the next one return at once). */
  wake(): void {
    if (this.#closed) return;
    const one = new Uint8Array(8);
    new DataView(one.buffer).setBigUint64(0, 1n, true);
    libc().write(this.#wakeFd, one, 8n);
  }

  /** Wakes and awaits a pending wait, so no worker thread outlives us, then closes the eventfd. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.wake();
    this.#closed = true;
    await this.#waiting;
    libc().close(this.#wakeFd);
  }
}
