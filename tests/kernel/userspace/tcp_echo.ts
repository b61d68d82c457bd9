/**
 * A tiny TCP echo for the namespace tests.
 *
 *     deno run -A tcp_echo.ts server ADDRESS PORT       prints `listening`, echoes every connection
 *     deno run -A tcp_echo.ts client ADDRESS PORT BYTES  sends BYTES random bytes, checks the echo,
 *                                                        prints `echoed BYTES bytes`, exit 0 (else 1)
 */
import { randomBytes } from "node:crypto";

async function serve(hostname: string, port: number): Promise<void> {
  const listener = Deno.listen({ hostname, port });
  console.log("listening");
  for await (const conn of listener) {
    conn.readable.pipeTo(conn.writable).catch(() => {});
  }
}

async function client(hostname: string, port: number, bytes: number): Promise<number> {
  const conn = await Deno.connect({ hostname, port });
  const sent = new Uint8Array(randomBytes(bytes));
  const writing = (async () => {
    const writer = conn.writable.getWriter();
    for (let off = 0; off < sent.length; off += 16384) {
      await writer.write(sent.subarray(off, off + 16384));
    }
  })();
  const received = new Uint8Array(bytes);
  let got = 0;
  const reader = conn.readable.getReader();
  while (got < bytes) {
    const { done, value } = await reader.read();
    if (done) break;
    received.set(value.subarray(0, bytes - got), got);
    got += value.length;
  }
  await writing;
  conn.close();
  if (got !== bytes || !received.every((b, i) => b === sent[i])) {
    console.log(`echo mismatch: got ${got} of ${bytes} bytes`);
    return 1;
  }
  console.log(`echoed ${bytes} bytes`);
  return 0;
}

const [mode, address, port, bytes] = Deno.args;
if (mode === "server") await serve(address, Number(port));
else Deno.exit(await client(address, Number(port), Number(bytes)));
