/**
 * --wireshark-keys: the rows carry the keys an independent decryptor needs.
 * Checked by decrypting the captured IKE_AUTH request with node:crypto
 * directly (RFC 5282: nonce = salt | IV, AAD = header | SK header), using only
 * what the ikev2_decryption_table row says.
 */
import assert from "node:assert/strict";
import { createDecipheriv } from "node:crypto";
import { parseAddress } from "../../src/config/addresses.ts";
import { espRow, ikeRow } from "../../src/daemon/wireshark_keys.ts";
import type { EspSaKeyRecord, IkeSaKeyRecord } from "../../src/ike/key_log.ts";
import { PSK, RecordingWhack, Sim, westEast } from "../sim/sim.ts";

Deno.test("wireshark keys: the IKE row decrypts the captured IKE_AUTH request; ESP rows match both kernels", async () => {
  const sim = new Sim();
  const west = sim.node("west", "192.0.2.1", PSK, 51);
  const east = sim.node("east", "192.0.2.2", PSK, 52);
  const ike: IkeSaKeyRecord[] = [], esp: EspSaKeyRecord[] = [];
  west.engine.deps.keyLog = { ike: (r) => ike.push(r), esp: (r) => esp.push(r) };
  sim.add(west, westEast());
  sim.add(east, westEast());
  const packets: Uint8Array[] = [];
  sim.net.tap = (d) => packets.push(d.slice());
  const w = new RecordingWhack();
  west.engine.initiate("west-east", w, false);
  await sim.run(30_000, () => w.rc !== undefined);
  assert.equal(w.rc, 0);
  assert.equal(ike.length, 1);
  const row = ikeRow(ike[0]).split(",");
  assert.equal(row[4], '"AES-GCM-256 with 16 octet ICV [RFC5282]"');
  assert.equal(row[7], '"NONE [RFC4306]"');
  // The IKE_AUTH request: exchange 35, initiator flag, not a response.
  const auth = packets.find((p) => p[18] === 35 && (p[19] & 0x20) === 0)!;
  assert.equal(row[0], Buffer.from(auth.subarray(0, 8)).toString("hex"));
  const skEi = Buffer.from(row[2], "hex");
  const key = skEi.subarray(0, 32), salt = skEi.subarray(32);
  const skLen = (auth[30] << 8) | auth[31];
  const body = auth.subarray(32, 28 + skLen);
  const iv = body.subarray(0, 8),
    ct = body.subarray(8, body.length - 16),
    tag = body.subarray(body.length - 16);
  const d = createDecipheriv("aes-256-gcm", key, Buffer.concat([salt, iv]));
  d.setAAD(auth.subarray(0, 32));
  d.setAuthTag(tag);
  const plain = Buffer.concat([d.update(ct), d.final()]);
  // First inner payload is IDi (type 35 announced in the SK header), ID type FQDN, "west".
  assert.equal(auth[28], 35);
  assert.equal(plain[4], 2);
  assert.equal(plain.subarray(8, 12).toString(), "west");
  // ESP rows: both directions, keys as installed on both sides.
  assert.equal(esp.length, 2);
  for (const r of esp) {
    const line = espRow(r);
    assert.match(
      line,
      /^"IPv4","192\.0\.2\.[12]","192\.0\.2\.[12]","0x[0-9a-f]{8}","AES-GCM with 16 octet ICV \[RFC4106\]","0x[0-9a-f]{72}","NULL",""$/,
    );
    const twin = east.kernel.installed.find((s) => s.spi === r.spi)!;
    assert.ok(line.includes(Buffer.from(twin.encrKey).toString("hex")));
  }
});

Deno.test("wireshark keys: CBC/HMAC names and IPv6 ESP rows", () => {
  const z = new Uint8Array(4);
  assert.equal(
    ikeRow({
      spiI: new Uint8Array(8).fill(1),
      spiR: new Uint8Array(8).fill(2),
      encrId: 12,
      encrKeyBits: 128,
      skEi: z,
      skEr: z,
      integId: 12,
      skAi: z,
      skAr: z,
    }),
    '0101010101010101,0202020202020202,00000000,00000000,"AES-CBC-128 [RFC3602]",00000000,00000000,"HMAC_SHA2_256_128 [RFC4868]"',
  );
  assert.match(
    ikeRow({
      spiI: z,
      spiR: z,
      encrId: 28,
      encrKeyBits: 256,
      skEi: z,
      skEr: z,
      integId: 0,
      skAi: z,
      skAr: z,
    }),
    /^# .*cannot be decrypted/,
  );
  assert.equal(
    espRow({
      src: parseAddress("2001:db8::1")!,
      dst: parseAddress("2001:db8::2")!,
      spi: 0x1234,
      encrId: 12,
      encrKeyBits: 128,
      encrKey: new Uint8Array([1]),
      integId: 2,
      integKey: new Uint8Array([2]),
    }),
    '"IPv6","2001:db8::1","2001:db8::2","0x00001234","AES-CBC [RFC3602]","0x01","HMAC-SHA-1-96 [RFC2404]","0x02"',
  );
});
