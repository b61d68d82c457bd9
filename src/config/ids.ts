/**
 * IKE identities (RFC 7296 §3.5): the text forms accepted by `leftid=`,
 * `--id` and ipsec.secrets indices, their ID payload bytes, and the text
 * Libreswan prints for them. DNs are DER-encoded here (X.501 Name).
 */

import { Buffer } from "node:buffer";
import {
  addressEquals,
  addressIsAny,
  formatAddress,
  type IpAddress,
  parseAddress,
} from "./addresses.ts";
import type { ValueResult } from "./values.ts";

/** Not an IANA value: the `%any` / `%none` wildcard (Libreswan's ID_NONE). */
export const ID_ANY = 0;
/** IANA "IKEv2 Identification Payload ID Types". */
export const ID_IPV4_ADDR = 1;
export const ID_FQDN = 2;
export const ID_RFC822_ADDR = 3;
export const ID_IPV6_ADDR = 5;
export const ID_DER_ASN1_DN = 9;
export const ID_DER_ASN1_GN = 10;
export const ID_KEY_ID = 11;
export const ID_FC_NAME = 12;
export const ID_NULL = 13;

/**
 * An identity. `type` is the IANA ID type or `ID_ANY` (0) for the
 * wildcard; `data` the ID payload body; `text` the printed form
 * (`@east`, `192.0.2.1`, `C=CA, O=Libreswan, CN=east`, `@#0x0102`,
 * `ID_NULL`, `(none)` for the wildcard, as Libreswan prints them).
 */
export interface IkeId {
  type: number;
  data: Uint8Array;
  text: string;
}

const TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [ID_ANY, "%none"],
  [ID_IPV4_ADDR, "IPV4_ADDR"],
  [ID_FQDN, "FQDN"],
  [ID_RFC822_ADDR, "USER_FQDN"],
  [ID_IPV6_ADDR, "IPV6_ADDR"],
  [ID_DER_ASN1_DN, "DER_ASN1_DN"],
  [ID_DER_ASN1_GN, "DER_ASN1_GN"],
  [ID_KEY_ID, "KEY_ID"],
  [ID_FC_NAME, "FC_NAME"],
  [ID_NULL, "NULL"],
]);

/** The ID type name as Libreswan 5.x prints it in `our idtype:` (`FQDN`, `IPV4_ADDR`, …; `%none` for the wildcard). */
export function idTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? String(type);
}

// ---------------------------------------------------------------------------
// DER: just enough of X.690 for an X.501 Name.

const TAG_OID = 0x06;
const TAG_UTF8_STRING = 0x0c;
const TAG_PRINTABLE_STRING = 0x13;
const TAG_T61_STRING = 0x14;
const TAG_IA5_STRING = 0x16;
const TAG_UNIVERSAL_STRING = 0x1c;
const TAG_BMP_STRING = 0x1e;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function derTlv(tag: number, content: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...derLength(content.length), ...content]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const out = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const base128 = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) {
      base128.unshift(0x80 | (v & 0x7f));
    }
    out.push(...base128);
  }
  return derTlv(TAG_OID, Uint8Array.from(out));
}

function decodeOid(content: Uint8Array): string | undefined {
  if (content.length === 0 || (content[content.length - 1] & 0x80) !== 0) return undefined;
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = Math.min(2, Math.floor(value / 40));
        arcs.push(first, value - 40 * first);
      } else {
        arcs.push(value);
      }
      value = 0;
    }
  }
  return arcs.join(".");
}

interface Tlv {
  tag: number;
  /** the whole element, tag and length included */
  element: Uint8Array;
  content: Uint8Array;
}

/** Reads one definite-length TLV at `offset`; undefined when it does not fit. */
function readTlv(bytes: Uint8Array, offset: number): Tlv | undefined {
  if (offset + 2 > bytes.length) return undefined;
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tags never occur in a Name
  let length = bytes[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || offset + 2 + count > bytes.length) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) return undefined;
  return {
    tag,
    element: bytes.subarray(offset, end),
    content: bytes.subarray(offset + header, end),
  };
}

/** All TLVs filling `bytes` exactly; undefined on any overrun or trailing garbage. */
function readAll(bytes: Uint8Array): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const tlv = readTlv(bytes, offset);
    if (tlv === undefined) return undefined;
    out.push(tlv);
    offset += tlv.element.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Distinguished names.

type StringRule = "directory" | "printable" | "ia5" | "country";

interface DnAttribute {
  /** printed name */
  name: string;
  oid: string;
  rule: StringRule;
  /** accepted spellings besides `name` (compared case-insensitively) */
  aliases: string[];
}

const DN_ATTRIBUTES: readonly DnAttribute[] = [
  { name: "C", oid: "2.5.4.6", rule: "country", aliases: [] },
  { name: "ST", oid: "2.5.4.8", rule: "directory", aliases: [] },
  { name: "L", oid: "2.5.4.7", rule: "directory", aliases: [] },
  { name: "O", oid: "2.5.4.10", rule: "directory", aliases: [] },
  { name: "OU", oid: "2.5.4.11", rule: "directory", aliases: [] },
  { name: "CN", oid: "2.5.4.3", rule: "directory", aliases: [] },
  { name: "SN", oid: "2.5.4.4", rule: "directory", aliases: ["surname"] },
  { name: "GN", oid: "2.5.4.42", rule: "directory", aliases: ["G", "givenName"] },
  { name: "T", oid: "2.5.4.12", rule: "directory", aliases: ["title"] },
  { name: "serialNumber", oid: "2.5.4.5", rule: "printable", aliases: [] },
  { name: "E", oid: "1.2.840.113549.1.9.1", rule: "ia5", aliases: ["Email", "emailAddress"] },
  { name: "DC", oid: "0.9.2342.19200300.100.1.25", rule: "ia5", aliases: [] },
  { name: "UID", oid: "0.9.2342.19200300.100.1.1", rule: "directory", aliases: [] },
];

function attributeByName(key: string): DnAttribute | undefined {
  const lower = key.toLowerCase();
  return DN_ATTRIBUTES.find((a) =>
    a.name.toLowerCase() === lower || a.aliases.some((x) => x.toLowerCase() === lower)
  );
}

/** X.680 PrintableString repertoire. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

function encodeAttributeValue(
  attribute: DnAttribute,
  value: string,
): ValueResult<Uint8Array> {
  const bytes = utf8.encode(value);
  switch (attribute.rule) {
    case "country":
      if (!/^[A-Za-z]{2}$/.test(value)) {
        return { ok: false, error: `C="${value}" is not a two-letter country code` };
      }
      return { ok: true, value: derTlv(TAG_PRINTABLE_STRING, bytes) };
    case "printable":
      if (!PRINTABLE.test(value)) {
        return {
          ok: false,
          error: `${attribute.name}="${value}" has characters a PrintableString cannot hold`,
        };
      }
      return { ok: true, value: derTlv(TAG_PRINTABLE_STRING, bytes) };
    case "ia5":
      if (!ASCII.test(value)) {
        return { ok: false, error: `${attribute.name}="${value}" must be plain ASCII` };
      }
      return { ok: true, value: derTlv(TAG_IA5_STRING, bytes) };
    case "directory":
      // DirectoryString: PrintableString when the text allows it, as
      // certificate tools do, so that DNs compare equal to issued certs.
      return {
        ok: true,
        value: derTlv(PRINTABLE.test(value) ? TAG_PRINTABLE_STRING : TAG_UTF8_STRING, bytes),
      };
  }
}

/** Splits `text` at unescaped `separator`, keeping escapes for the value decoder. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** RFC 4514-style value text: optional surrounding quotes, `\c` escapes. */
function unescapeValue(raw: string): ValueResult<string> {
  let text = raw;
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
      if (i < text.length) out += text[i];
    } else if (c === "+") {
      return {
        ok: false,
        error: `multi-valued RDNs ("+") are not supported; write \\+ for a literal "+"`,
      };
    } else {
      out += c;
    }
  }
  return { ok: true, value: out };
}

/**
 * DER-encodes a DN written as `C=CA, O=Libreswan, CN=east` (or OpenSSL's
 * `/C=CA/O=Libreswan/CN=east`). RDNs keep the written order, as Libreswan
 * does, so the printed form round-trips.
 */
function encodeDn(text: string): ValueResult<Uint8Array> {
  const slashForm = text.startsWith("/");
  const parts = slashForm ? splitUnescaped(text.slice(1), "/") : splitUnescaped(text, ",");
  const rdns: Uint8Array[] = [];
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq < 0) return { ok: false, error: `DN part "${part.trim()}" is not KEY=value` };
    const key = part.slice(0, eq).trim();
    const attribute = attributeByName(key);
    if (attribute === undefined) {
      return {
        ok: false,
        error: `unknown DN attribute "${key}" (known: ${
          DN_ATTRIBUTES.map((a) => a.name).join(", ")
        })`,
      };
    }
    const value = unescapeValue(part.slice(eq + 1).trim());
    if (!value.ok) return value;
    if (value.value === "") return { ok: false, error: `DN attribute ${key} has an empty value` };
    const encoded = encodeAttributeValue(attribute, value.value);
    if (!encoded.ok) return encoded;
    const ava = derTlv(TAG_SEQUENCE, concat([encodeOid(attribute.oid), encoded.value]));
    rdns.push(derTlv(TAG_SET, ava));
  }
  return { ok: true, value: derTlv(TAG_SEQUENCE, concat(rdns)) };
}

/** One attribute-value pair of a decoded Name. */
interface Ava {
  oid: string;
  /** decoded text, or undefined when the value is not a string type */
  value: string | undefined;
  /** the value element's DER (tag, length, content) */
  element: Uint8Array;
}

function decodeString(tag: number, content: Uint8Array): string | undefined {
  switch (tag) {
    case TAG_UTF8_STRING:
      return utf8Decoder.decode(content);
    case TAG_PRINTABLE_STRING:
    case TAG_IA5_STRING:
    case TAG_T61_STRING:
      return String.fromCharCode(...content);
    case TAG_BMP_STRING: {
      if (content.length % 2 !== 0) return undefined;
      let s = "";
      for (let i = 0; i < content.length; i += 2) {
        s += String.fromCharCode((content[i] << 8) | content[i + 1]);
      }
      return s;
    }
    case TAG_UNIVERSAL_STRING: {
      if (content.length % 4 !== 0) return undefined;
      let s = "";
      for (let i = 0; i < content.length; i += 4) {
        const cp = ((content[i] << 24) | (content[i + 1] << 16) | (content[i + 2] << 8) |
          content[i + 3]) >>> 0;
        if (cp > 0x10ffff) return undefined;
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return undefined;
  }
}

/** Decodes a DER Name into RDNs of AVAs; undefined when the bytes are not one. */
function decodeDn(der: Uint8Array): Ava[][] | undefined {
  const outer = readAll(der);
  if (outer === undefined || outer.length !== 1 || outer[0].tag !== TAG_SEQUENCE) {
    return undefined;
  }
  const rdnSets = readAll(outer[0].content);
  if (rdnSets === undefined) return undefined;
  const rdns: Ava[][] = [];
  for (const set of rdnSets) {
    if (set.tag !== TAG_SET) return undefined;
    const seqs = readAll(set.content);
    if (seqs === undefined || seqs.length === 0) return undefined;
    const avas: Ava[] = [];
    for (const seq of seqs) {
      if (seq.tag !== TAG_SEQUENCE) return undefined;
      const fields = readAll(seq.content);
      if (fields === undefined || fields.length !== 2 || fields[0].tag !== TAG_OID) {
        return undefined;
      }
      const oid = decodeOid(fields[0].content);
      if (oid === undefined) return undefined;
      avas.push({
        oid,
        value: decodeString(fields[1].tag, fields[1].content),
        element: fields[1].element,
      });
    }
    rdns.push(avas);
  }
  return rdns;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Escapes the RFC 4514 special characters so the text parses back to the same value. */
function escapeValue(value: string): string {
  let out = value.replace(/[\\,+"<>;]/g, (c) => `\\${c}`);
  if (out.startsWith(" ") || out.startsWith("#")) out = `\\${out}`;
  if (out.endsWith(" ")) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function formatDn(rdns: Ava[][]): string {
  return rdns.map((avas) =>
    avas.map((ava) => {
      const name = DN_ATTRIBUTES.find((a) => a.oid === ava.oid)?.name ?? ava.oid;
      return ava.value === undefined
        ? `${name}=#${hex(ava.element)}`
        : `${name}=${escapeValue(sanitize(ava.value))}`;
    }).join(" + ")
  ).join(", ");
}

/** Keeps printable text printable: control characters become `\xNN`. */
function sanitize(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

// ---------------------------------------------------------------------------
// IDs.

/**
 * Builds an ID from an ID payload's type and body; never throws. The text
 * is what Libreswan prints: `@fqdn`, `user@fqdn`, the address (`%any` for
 * 0.0.0.0 / ::), the DN, `@#0x<hex>` for KEY_ID, `ID_NULL`, `(none)`.
 * Malformed bodies get a descriptive text rather than an exception.
 */
export function idFromWire(type: number, data: Uint8Array): IkeId {
  const body = new Uint8Array(data);
  const make = (text: string): IkeId => ({ type, data: body, text });
  switch (type) {
    case ID_ANY:
      return make("(none)");
    case ID_IPV4_ADDR:
    case ID_IPV6_ADDR: {
      const size = type === ID_IPV4_ADDR ? 4 : 16;
      if (body.length !== size) {
        return make(`(${idTypeName(type)} of ${body.length} bytes, not ${size})`);
      }
      const address: IpAddress = { family: type === ID_IPV4_ADDR ? 4 : 6, bytes: body };
      return make(addressIsAny(address) ? "%any" : formatAddress(address));
    }
    case ID_FQDN:
      return make(`@${sanitize(utf8Decoder.decode(body))}`);
    case ID_RFC822_ADDR:
      return make(sanitize(utf8Decoder.decode(body)));
    case ID_DER_ASN1_DN: {
      const rdns = decodeDn(body);
      return make(rdns === undefined ? `@~${hex(body)}` : formatDn(rdns));
    }
    case ID_KEY_ID:
      return make(`@#0x${hex(body)}`);
    case ID_NULL:
      return make("ID_NULL");
    default:
      return make(`unknown id kind ${type}`);
  }
}

/** The IPV4_ADDR / IPV6_ADDR identity of an address (Libreswan's default ID). */
export function idFromAddress(a: IpAddress): IkeId {
  return idFromWire(a.family === 4 ? ID_IPV4_ADDR : ID_IPV6_ADDR, a.bytes);
}

function parseHexBody(text: string): Uint8Array | undefined {
  const digits = text.replace(/^0[xX]/, "");
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(digits)) {
    return undefined;
  }
  return Uint8Array.from(Buffer.from(digits, "hex"));
}

/**
 * Parses an ID as written in `leftid=` / `--id` (Libreswan §6.4 forms):
 * `%any`/`0.0.0.0`/`%none` (wildcard), `%null`, a DN (anything with `=`,
 * leading `@` tolerated), `@#<hex>` / `@[text]` (KEY_ID), `@~<hex>` (DER
 * DN), `@fqdn`, `user@fqdn`, or an IPv4/IPv6 literal. DNS names are not
 * resolved (write `@name`), and `%fromcert` needs certificates, which
 * swan does not have yet; both are refused with the reason.
 */
export function parseId(text: string): ValueResult<IkeId> {
  const ok = (type: number, data: Uint8Array) => ({
    ok: true as const,
    value: idFromWire(type, data),
  });
  if (text === "%any" || text === "%none" || text === "0.0.0.0") {
    return ok(ID_ANY, new Uint8Array(0));
  }
  if (text === "%null") return ok(ID_NULL, new Uint8Array(0));
  if (text === "%fromcert") {
    return { ok: false, error: `"%fromcert" needs certificates, which swan does not support yet` };
  }
  if (text === "") return { ok: false, error: `an empty ID is not allowed (use %any)` };
  if (text.includes("=") && !text.startsWith("@#") && !text.startsWith("@[")) {
    const der = encodeDn(text.startsWith("@") ? text.slice(1) : text);
    if (!der.ok) return { ok: false, error: `"${text}" is not a valid DN: ${der.error}` };
    return ok(ID_DER_ASN1_DN, der.value);
  }
  if (!text.includes("@")) {
    const address = parseAddress(text);
    if (address === undefined) {
      return {
        ok: false,
        error: `"${text}" is not an IP address; write "@${text}" for a name ID ` +
          `(swan does not resolve DNS names)`,
      };
    }
    return ok(address.family === 4 ? ID_IPV4_ADDR : ID_IPV6_ADDR, address.bytes);
  }
  if (text.startsWith("@#")) {
    const body = parseHexBody(text.slice(2));
    if (body === undefined) {
      return { ok: false, error: `"${text}": KEY_ID "@#" needs an even number of hex digits` };
    }
    return ok(ID_KEY_ID, body);
  }
  if (text.startsWith("@~")) {
    const body = parseHexBody(text.slice(2));
    if (body === undefined || decodeDn(body) === undefined) {
      return { ok: false, error: `"${text}": "@~" needs the hex of a DER-encoded DN` };
    }
    return ok(ID_DER_ASN1_DN, body);
  }
  if (text.startsWith("@[")) {
    const inner = text.endsWith("]") ? text.slice(2, -1) : text.slice(2);
    return ok(ID_KEY_ID, utf8.encode(inner));
  }
  if (text.startsWith("@")) {
    if (text.length === 1) return { ok: false, error: `"@" needs a name after it (e.g. @east)` };
    return ok(ID_FQDN, utf8.encode(text.slice(1)));
  }
  return ok(ID_RFC822_ADDR, utf8.encode(text));
}

function addressOf(id: IkeId): IpAddress | undefined {
  if (id.type === ID_IPV4_ADDR && id.data.length === 4) return { family: 4, bytes: id.data };
  if (id.type === ID_IPV6_ADDR && id.data.length === 16) return { family: 6, bytes: id.data };
  return undefined;
}

/** True for the wildcard: `%any` (type 0) and the any-address IDs 0.0.0.0 / ::. */
export function isAnyId(id: IkeId): boolean {
  if (id.type === ID_ANY) return true;
  const address = addressOf(id);
  return address !== undefined && addressIsAny(address);
}

/** Name comparison (RFC 4343): ASCII case-insensitive, trailing dots ignored. */
function sameName(a: Uint8Array, b: Uint8Array): boolean {
  const norm = (x: Uint8Array) =>
    utf8Decoder.decode(x).replace(/\.+$/, "").replace(/[A-Z]/g, (c) => c.toLowerCase());
  return norm(a) === norm(b);
}

/** X.520 caseIgnoreMatch, simplified: string values compare ASCII case-insensitively, others by bytes. */
function avaMatches(pattern: Ava, actual: Ava, wildcards: boolean): boolean {
  if (pattern.oid !== actual.oid) return false;
  if (wildcards && pattern.value === "*") return true;
  if (pattern.value !== undefined && actual.value !== undefined) {
    return pattern.value.toLowerCase() === actual.value.toLowerCase();
  }
  return Buffer.compare(pattern.element, actual.element) === 0;
}

function rdnMatches(pattern: Ava[], actual: Ava[], wildcards: boolean): boolean {
  return pattern.length === actual.length &&
    pattern.every((p) => actual.some((a) => avaMatches(p, a, wildcards)));
}

/**
 * DN comparison: RDNs in order; with `wildcards`, a pattern value `*`
 * matches any value and RDNs may also appear in any order (as Libreswan
 * accepts), but the RDN count must be equal.
 */
function dnMatches(pattern: Uint8Array, actual: Uint8Array, wildcards: boolean): boolean {
  const p = decodeDn(pattern);
  const a = decodeDn(actual);
  if (p === undefined || a === undefined) return Buffer.compare(pattern, actual) === 0;
  if (p.length !== a.length) return false;
  if (p.every((rdn, i) => rdnMatches(rdn, a[i], wildcards))) return true;
  if (!wildcards) return false;
  const unused = new Set(a.keys());
  for (const rdn of p) {
    const hit = [...unused].find((i) => rdnMatches(rdn, a[i], wildcards));
    if (hit === undefined) return false;
    unused.delete(hit);
  }
  return true;
}

/**
 * True when both IDs denote the same identity: same type and body, with
 * FQDN/USER_FQDN compared case-insensitively (trailing dots ignored) and
 * DNs compared by decoded value (so PrintableString vs UTF8String
 * spellings of the same name are equal). The wildcard equals only itself.
 */
export function idEquals(a: IkeId, b: IkeId): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case ID_ANY:
    case ID_NULL:
      return true;
    case ID_FQDN:
    case ID_RFC822_ADDR:
      return sameName(a.data, b.data);
    case ID_IPV4_ADDR:
    case ID_IPV6_ADDR: {
      const x = addressOf(a);
      const y = addressOf(b);
      return x !== undefined && y !== undefined
        ? addressEquals(x, y)
        : Buffer.compare(a.data, b.data) === 0;
    }
    case ID_DER_ASN1_DN:
      return dnMatches(a.data, b.data, false);
    default:
      return Buffer.compare(a.data, b.data) === 0;
  }
}

/**
 * True when a received `actual` ID satisfies a configured `pattern`:
 * the wildcard (`%any`, 0.0.0.0, ::) matches anything; a DN pattern may
 * use `*` values and any RDN order; otherwise as `idEquals`.
 */
export function idMatches(pattern: IkeId, actual: IkeId): boolean {
  if (isAnyId(pattern)) return true;
  if (pattern.type !== actual.type) return false;
  if (pattern.type === ID_DER_ASN1_DN) return dnMatches(pattern.data, actual.data, true);
  return idEquals(pattern, actual);
}
