/**
 * The pid/lock file `<rundir>/pluto.pid` (created exclusively, mode 0444).
 * A file left by a dead process is stale and replaced; a live owner means
 * another pluto runs, which is exit status 10 as in Libreswan.
 */
export const EXIT_LOCK = 10;

export type LockResult = { ok: true; stale?: number } | { ok: false; message: string };

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** The pid of a live pluto holding the lock file, if any. */
export function lockHolder(path: string): number | undefined {
  let owner: number;
  try {
    owner = parseInt(Deno.readTextFileSync(path).trim(), 10);
  } catch {
    return undefined;
  }
  return Number.isInteger(owner) && owner > 0 && alive(owner) ? owner : undefined;
}

export function acquireLock(path: string, pid: number): LockResult {
  let stale: number | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const f = Deno.openSync(path, { write: true, createNew: true, mode: 0o444 });
      f.writeSync(new TextEncoder().encode(`${pid}\n`));
      f.close();
      return { ok: true, stale };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        return { ok: false, message: `cannot create lock file "${path}": ${(e as Error).message}` };
      }
    }
    let owner: number | undefined;
    try {
      owner = parseInt(Deno.readTextFileSync(path).trim(), 10);
    } catch { /* unreadable: treat as stale */ }
    if (
      owner !== undefined && Number.isInteger(owner) && owner > 0 && owner !== pid && alive(owner)
    ) {
      return {
        ok: false,
        message:
          `lock file "${path}" already exists: pluto pid ${owner} is running (stop it with whack --shutdown)`,
      };
    }
    stale = owner;
    try {
      Deno.removeSync(path);
    } catch { /* raced with another remover */ }
  }
  return {
    ok: false,
    message: `lock file "${path}" keeps reappearing; is another pluto starting?`,
  };
}

export function releaseLock(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* already gone */ }
}
