import { addressKey, type IpAddress } from "../config/addresses.ts";
import type { Entropy } from "../crypto/random.ts";
import type { Kernel, KernelSa } from "./kernel.ts";

/**
 * `--protostack none`: Child SAs are negotiated and listed but no stack
 * carries traffic. SPIs are still allocated uniquely per destination, outside
 * 0x0000–0x0FFF as pluto does (the low range is left for manual keying).
 */
export class NoKernel implements Kernel {
  readonly name = "none";
  #spis = new Set<string>();
  #sas = new Map<string, KernelSa>();
  readonly #record: boolean;

  /**
   * `recordSas` keeps every installed SA (keys included) for tests that
   * compare both sides' keys; the daemon does not, so an SA costs no key
   * copies here.
   */
  constructor(private entropy: Entropy, { recordSas = false }: { recordSas?: boolean } = {}) {
    this.#record = recordSas;
  }

  allocateSpi(_src: IpAddress, dst: IpAddress): Promise<number> {
    const buf = new Uint8Array(4);
    for (;;) {
      this.entropy.fill(buf);
      const spi = new DataView(buf.buffer).getUint32(0);
      const key = `${addressKey(dst)}/${spi}`;
      if (spi < 0x1000 || this.#spis.has(key)) continue;
      this.#spis.add(key);
      return Promise.resolve(spi);
    }
  }

  addSa(sa: KernelSa): Promise<void> {
    if (this.#record) this.#sas.set(`${addressKey(sa.dst)}/${sa.spi}`, sa);
    return Promise.resolve();
  }

  deleteSa(dst: IpAddress, spi: number): Promise<void> {
    const key = `${addressKey(dst)}/${spi}`;
    this.#sas.delete(key);
    this.#spis.delete(key);
    return Promise.resolve();
  }

  bytes(): { bytes: number; packets: number } {
    return { bytes: 0, packets: 0 };
  }

  /** Installed SAs when constructed with `recordSas` (tests), else none. */
  get installed(): KernelSa[] {
    return [...this.#sas.values()];
  }
}
