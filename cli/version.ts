/**
 * The one place the program's version comes from: deno.json's "version", so
 * a release bump touches a single file.
 */
import denoConfig from "../deno.json" with { type: "json" };

/** swan's version string, e.g. `0.1.0`. */
export const SWAN_VERSION: string = denoConfig.version;

/** What `--version` prints for swan, `swan whack` and `swan pluto`. */
export const VERSION_LINE = `swan ${SWAN_VERSION}`;
