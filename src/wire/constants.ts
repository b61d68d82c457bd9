/**
 * IKEv2 wire constants, named as the IANA "Internet Key Exchange Version 2
 * (IKEv2) Parameters" registries name them so a reader can grep the RFCs.
 * Each registry is an `as const` object; the name lookups return the IANA
 * name or, for values we do not know, the decimal number.
 */

/** IKE header version byte for IKEv2: major 2, minor 0 (RFC 7296 §3.1). */
export const IKEV2_VERSION = 0x20;
/** Header flag: sent by the original initiator of the IKE SA (RFC 7296 §3.1). */
export const FLAG_INITIATOR = 0x08;
/** Header flag: sender can speak a higher major version than the one in the header. */
export const FLAG_VERSION = 0x10;
/** Header flag: this message is a response to the message with the same Message ID. */
export const FLAG_RESPONSE = 0x20;

/** Generic payload header flag: reject the message if the payload type is unknown (RFC 7296 §2.5). */
export const PAYLOAD_CRITICAL = 0x80;

/** Nonce data bounds (RFC 7296 §3.9): at least 16 and at most 256 octets. */
export const NONCE_MIN_BYTES = 16;
/** See {@link NONCE_MIN_BYTES}. */
export const NONCE_MAX_BYTES = 256;

/** IKEv2 Exchange Types (RFC 7296 §3.1, RFC 5723, G-IKEv2, RFC 9242, RFC 9370). */
export const ExchangeType = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
  IKE_SESSION_RESUME: 38,
  GSA_AUTH: 39,
  GSA_REGISTRATION: 40,
  GSA_REKEY: 41,
  IKE_INTERMEDIATE: 43,
  IKE_FOLLOWUP_KE: 44,
} as const;

/**
 * IKEv2 Payload Types (RFC 7296 §3.2, RFC 6467, G-IKEv2, RFC 7383, RFC 8019),
 * keyed by the short notation Libreswan logs (`SA`, `KE`, `IDi`, `N`, `SK`…).
 * The Nonce payload is keyed `NONCE`: IANA's "Ni, Nr" depends on who sent it,
 * which the codec cannot know, so log summaries map it to `Ni`/`Nr` themselves.
 */
export const PayloadType = {
  NONE: 0,
  SA: 33,
  KE: 34,
  IDi: 35,
  IDr: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  N: 41,
  D: 42,
  V: 43,
  TSi: 44,
  TSr: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  GSPM: 49,
  IDg: 50,
  GSA: 51,
  KD: 52,
  SKF: 53,
  PS: 54,
} as const;

/** IKEv2 Transform Types (RFC 7296 §3.3.2; KE was "D-H", ESN is now "Sequence Numbers"). */
export const TransformType = {
  ENCR: 1,
  PRF: 2,
  INTEG: 3,
  KE: 4,
  ESN: 5,
  ADDKE1: 6,
  ADDKE2: 7,
  ADDKE3: 8,
  ADDKE4: 9,
  ADDKE5: 10,
  ADDKE6: 11,
  ADDKE7: 12,
} as const;

/** IKEv2 Transform Attribute Types (RFC 7296 §3.3.5). */
export const TransformAttribute = {
  /** Key length in bits; always TV format. */
  KEY_LENGTH: 14,
} as const;

/** Attribute Format bit of a data attribute's type field: set = TV (2-byte value), clear = TLV. */
export const ATTRIBUTE_FORMAT_TV = 0x8000;

/** IKEv2 Security Protocol Identifiers (RFC 7296 §3.3.1, RFC 4595). */
export const ProtocolId = {
  IKE: 1,
  AH: 2,
  ESP: 3,
  FC_ESP_HEADER: 4,
  FC_CT_AUTHENTICATION: 5,
} as const;

/** IKEv2 Identification Payload ID Types (RFC 7296 §3.5, RFC 4595, RFC 7619). */
export const IdType = {
  ID_IPV4_ADDR: 1,
  ID_FQDN: 2,
  ID_RFC822_ADDR: 3,
  ID_IPV6_ADDR: 5,
  ID_DER_ASN1_DN: 9,
  ID_DER_ASN1_GN: 10,
  ID_KEY_ID: 11,
  ID_FC_NAME: 12,
  ID_NULL: 13,
} as const;

/** IKEv2 Certificate Encodings (RFC 7296 §3.6, RFC 4806, RFC 7670). */
export const CertEncoding = {
  PKCS7_WRAPPED_X509_CERTIFICATE: 1,
  PGP_CERTIFICATE: 2,
  DNS_SIGNED_KEY: 3,
  X509_CERTIFICATE_SIGNATURE: 4,
  KERBEROS_TOKEN: 6,
  CERTIFICATE_REVOCATION_LIST: 7,
  AUTHORITY_REVOCATION_LIST: 8,
  SPKI_CERTIFICATE: 9,
  X509_CERTIFICATE_ATTRIBUTE: 10,
  HASH_AND_URL_OF_X509_CERTIFICATE: 12,
  HASH_AND_URL_OF_X509_BUNDLE: 13,
  OCSP_CONTENT: 14,
  RAW_PUBLIC_KEY: 15,
} as const;

/** IKEv2 Authentication Methods (RFC 7296 §3.8, RFC 4754, RFC 6467, RFC 7619, RFC 7427). */
export const AuthMethod = {
  RSA_DIGITAL_SIGNATURE: 1,
  SHARED_KEY_MESSAGE_INTEGRITY_CODE: 2,
  DSS_DIGITAL_SIGNATURE: 3,
  ECDSA_SHA_256_P_256: 9,
  ECDSA_SHA_384_P_384: 10,
  ECDSA_SHA_512_P_521: 11,
  GENERIC_SECURE_PASSWORD: 12,
  NULL_AUTHENTICATION: 13,
  DIGITAL_SIGNATURE: 14,
} as const;

/** IKEv2 Traffic Selector Types (RFC 7296 §3.13.1, RFC 4595, RFC 9478). */
export const TsType = {
  TS_IPV4_ADDR_RANGE: 7,
  TS_IPV6_ADDR_RANGE: 8,
  TS_FC_ADDR_RANGE: 9,
  TS_SECLABEL: 10,
} as const;

/** IKEv2 Configuration Payload CFG Types (RFC 7296 §3.15). */
export const CfgType = {
  CFG_REQUEST: 1,
  CFG_REPLY: 2,
  CFG_SET: 3,
  CFG_ACK: 4,
} as const;

/** IKEv2 Configuration Payload Attribute Types (RFC 7296 §3.15.1, RFC 8598). */
export const ConfigAttributeType = {
  INTERNAL_IP4_ADDRESS: 1,
  INTERNAL_IP4_NETMASK: 2,
  INTERNAL_IP4_DNS: 3,
  INTERNAL_IP4_NBNS: 4,
  INTERNAL_IP4_DHCP: 6,
  APPLICATION_VERSION: 7,
  INTERNAL_IP6_ADDRESS: 8,
  INTERNAL_IP6_DNS: 10,
  INTERNAL_IP6_DHCP: 12,
  INTERNAL_IP4_SUBNET: 13,
  SUPPORTED_ATTRIBUTES: 14,
  INTERNAL_IP6_SUBNET: 15,
  INTERNAL_DNS_DOMAIN: 25,
  INTERNAL_DNSSEC_TA: 26,
} as const;

/**
 * IKEv2 Notify Message Types. Error types are below 16384, status types from
 * 16384 (RFC 7296 §3.10.1 and the RFCs noted per block).
 */
export const NotifyType = {
  // Error types (RFC 7296 unless noted)
  UNSUPPORTED_CRITICAL_PAYLOAD: 1,
  INVALID_IKE_SPI: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_SYNTAX: 7,
  INVALID_MESSAGE_ID: 9,
  INVALID_SPI: 11,
  NO_PROPOSAL_CHOSEN: 14,
  INVALID_KE_PAYLOAD: 17,
  AUTHENTICATION_FAILED: 24,
  SINGLE_PAIR_REQUIRED: 34,
  NO_ADDITIONAL_SAS: 35,
  INTERNAL_ADDRESS_FAILURE: 36,
  FAILED_CP_REQUIRED: 37,
  TS_UNACCEPTABLE: 38,
  INVALID_SELECTORS: 39,
  UNACCEPTABLE_ADDRESSES: 40, // RFC 4555
  UNEXPECTED_NAT_DETECTED: 41, // RFC 4555
  USE_ASSIGNED_HoA: 42, // RFC 5026
  TEMPORARY_FAILURE: 43,
  CHILD_SA_NOT_FOUND: 44,
  INVALID_GROUP_ID: 45, // G-IKEv2
  AUTHORIZATION_FAILED: 46, // G-IKEv2
  STATE_NOT_FOUND: 47, // RFC 9370
  // Status types (RFC 7296 unless noted)
  INITIAL_CONTACT: 16384,
  SET_WINDOW_SIZE: 16385,
  ADDITIONAL_TS_POSSIBLE: 16386,
  IPCOMP_SUPPORTED: 16387,
  NAT_DETECTION_SOURCE_IP: 16388,
  NAT_DETECTION_DESTINATION_IP: 16389,
  COOKIE: 16390,
  USE_TRANSPORT_MODE: 16391,
  HTTP_CERT_LOOKUP_SUPPORTED: 16392,
  REKEY_SA: 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED: 16394,
  NON_FIRST_FRAGMENTS_ALSO: 16395,
  MOBIKE_SUPPORTED: 16396, // RFC 4555
  ADDITIONAL_IP4_ADDRESS: 16397, // RFC 4555
  ADDITIONAL_IP6_ADDRESS: 16398, // RFC 4555
  NO_ADDITIONAL_ADDRESSES: 16399, // RFC 4555
  UPDATE_SA_ADDRESSES: 16400, // RFC 4555
  COOKIE2: 16401, // RFC 4555
  NO_NATS_ALLOWED: 16402, // RFC 4555
  AUTH_LIFETIME: 16403, // RFC 4478
  MULTIPLE_AUTH_SUPPORTED: 16404, // RFC 4739
  ANOTHER_AUTH_FOLLOWS: 16405, // RFC 4739
  REDIRECT_SUPPORTED: 16406, // RFC 5685
  REDIRECT: 16407, // RFC 5685
  REDIRECTED_FROM: 16408, // RFC 5685
  TICKET_LT_OPAQUE: 16409, // RFC 5723
  TICKET_REQUEST: 16410, // RFC 5723
  TICKET_ACK: 16411, // RFC 5723
  TICKET_NACK: 16412, // RFC 5723
  TICKET_OPAQUE: 16413, // RFC 5723
  LINK_ID: 16414, // RFC 5739
  USE_WESP_MODE: 16415, // RFC 5840
  ROHC_SUPPORTED: 16416, // RFC 5857
  EAP_ONLY_AUTHENTICATION: 16417, // RFC 5998
  CHILDLESS_IKEV2_SUPPORTED: 16418, // RFC 6023
  QUICK_CRASH_DETECTION: 16419, // RFC 6290
  IKEV2_MESSAGE_ID_SYNC_SUPPORTED: 16420, // RFC 6311
  IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED: 16421, // RFC 6311
  IKEV2_MESSAGE_ID_SYNC: 16422, // RFC 6311
  IPSEC_REPLAY_COUNTER_SYNC: 16423, // RFC 6311
  SECURE_PASSWORD_METHODS: 16424, // RFC 6467
  PSK_PERSIST: 16425, // RFC 6631
  PSK_CONFIRM: 16426, // RFC 6631
  ERX_SUPPORTED: 16427, // RFC 6867
  IFOM_CAPABILITY: 16428, // 3GPP TS 24.303
  SENDER_REQUEST_ID: 16429, // G-IKEv2
  IKEV2_FRAGMENTATION_SUPPORTED: 16430, // RFC 7383
  SIGNATURE_HASH_ALGORITHMS: 16431, // RFC 7427
  CLONE_IKE_SA_SUPPORTED: 16432, // RFC 7791
  CLONE_IKE_SA: 16433, // RFC 7791
  PUZZLE: 16434, // RFC 8019
  USE_PPK: 16435, // RFC 8784
  PPK_IDENTITY: 16436, // RFC 8784
  NO_PPK_AUTH: 16437, // RFC 8784
  INTERMEDIATE_EXCHANGE_SUPPORTED: 16438, // RFC 9242
  IP4_ALLOWED: 16439, // RFC 8983
  IP6_ALLOWED: 16440, // RFC 8983
  ADDITIONAL_KEY_EXCHANGE: 16441, // RFC 9370
  USE_AGGFRAG: 16442, // RFC 9347
  SUPPORTED_AUTH_METHODS: 16443, // RFC 9593
  SA_RESOURCE_INFO: 16444, // RFC 9611
  USE_PPK_INT: 16445, // RFC 9867
  PPK_IDENTITY_KEY: 16446, // RFC 9867
} as const;

/** First status Notify type; everything below is an error type (RFC 7296 §3.10.1). */
export const NOTIFY_STATUS_MIN = 16384;

/** True for Notify error types (0..16383): an unrecognised one in a response fails the request. */
export function isErrorNotify(notifyType: number): boolean {
  return notifyType < NOTIFY_STATUS_MIN;
}

/** Inverts a registry once so lookups on the hot logging path are a Map hit. */
function namesOf(registry: Readonly<Record<string, number>>): ReadonlyMap<number, string> {
  return new Map(Object.entries(registry).map(([name, value]) => [value, name]));
}

const EXCHANGE_NAMES = namesOf(ExchangeType);
const PAYLOAD_NAMES = namesOf(PayloadType);
const NOTIFY_NAMES = namesOf(NotifyType);

/** IANA name of an exchange type (`IKE_SA_INIT`), or the number as text. */
export function exchangeName(exchange: number): string {
  return EXCHANGE_NAMES.get(exchange) ?? String(exchange);
}

/**
 * Short payload notation as Libreswan logs it (`SA`, `KE`, `IDi`, `N`, `SK`),
 * or the number as text. The Nonce payload is `NONCE`: whether it reads `Ni`
 * or `Nr` depends on the sender's role, which the caller knows.
 */
export function payloadName(payloadType: number): string {
  return PAYLOAD_NAMES.get(payloadType) ?? String(payloadType);
}

/** IANA name of a Notify message type (`NO_PROPOSAL_CHOSEN`), or the number as text. */
export function notifyName(notifyType: number): string {
  return NOTIFY_NAMES.get(notifyType) ?? String(notifyType);
}
