/** IANA registry values (checked against the RFC text) and the name lookups. */

import assert from "node:assert/strict";
import {
  AuthMethod,
  CertEncoding,
  CfgType,
  ConfigAttributeType,
  exchangeName,
  ExchangeType,
  FLAG_INITIATOR,
  FLAG_RESPONSE,
  FLAG_VERSION,
  IdType,
  IKEV2_VERSION,
  isErrorNotify,
  notifyName,
  NotifyType,
  payloadName,
  PayloadType,
  ProtocolId,
  TransformAttribute,
  TransformType,
  TsType,
} from "../../src/wire/constants.ts";

Deno.test("constants: values from RFC 7296 §3 and the extension RFCs", () => {
  assert.equal(IKEV2_VERSION, 0x20);
  assert.deepEqual([FLAG_INITIATOR, FLAG_VERSION, FLAG_RESPONSE], [0x08, 0x10, 0x20]);
  assert.deepEqual(
    [
      ExchangeType.IKE_SA_INIT,
      ExchangeType.IKE_AUTH,
      ExchangeType.CREATE_CHILD_SA,
      ExchangeType.INFORMATIONAL,
    ],
    [34, 35, 36, 37],
  );
  assert.equal(ExchangeType.IKE_INTERMEDIATE, 43); // RFC 9242
  assert.deepEqual(
    [
      PayloadType.SA,
      PayloadType.NONCE,
      PayloadType.N,
      PayloadType.SK,
      PayloadType.EAP,
      PayloadType.SKF,
    ],
    [33, 40, 41, 46, 48, 53],
  );
  assert.deepEqual(
    [
      TransformType.ENCR,
      TransformType.PRF,
      TransformType.INTEG,
      TransformType.KE,
      TransformType.ESN,
    ],
    [1, 2, 3, 4, 5],
  );
  assert.equal(TransformAttribute.KEY_LENGTH, 14);
  assert.deepEqual([ProtocolId.IKE, ProtocolId.AH, ProtocolId.ESP], [1, 2, 3]);
  assert.deepEqual([IdType.ID_IPV6_ADDR, IdType.ID_KEY_ID, IdType.ID_NULL], [5, 11, 13]);
  assert.deepEqual([AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE, AuthMethod.DIGITAL_SIGNATURE], [
    2,
    14,
  ]);
  assert.deepEqual([TsType.TS_IPV4_ADDR_RANGE, TsType.TS_IPV6_ADDR_RANGE], [7, 8]);
  assert.equal(CertEncoding.X509_CERTIFICATE_SIGNATURE, 4);
  assert.deepEqual([CfgType.CFG_REQUEST, CfgType.CFG_ACK], [1, 4]);
  assert.equal(ConfigAttributeType.INTERNAL_IP4_ADDRESS, 1);
  const notify: [number, number][] = [
    [NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, 1],
    [NotifyType.INVALID_MAJOR_VERSION, 5],
    [NotifyType.INVALID_SYNTAX, 7],
    [NotifyType.NO_PROPOSAL_CHOSEN, 14],
    [NotifyType.INVALID_KE_PAYLOAD, 17],
    [NotifyType.AUTHENTICATION_FAILED, 24],
    [NotifyType.TS_UNACCEPTABLE, 38],
    [NotifyType.TEMPORARY_FAILURE, 43],
    [NotifyType.CHILD_SA_NOT_FOUND, 44],
    [NotifyType.INITIAL_CONTACT, 16384],
    [NotifyType.NAT_DETECTION_SOURCE_IP, 16388],
    [NotifyType.NAT_DETECTION_DESTINATION_IP, 16389],
    [NotifyType.COOKIE, 16390],
    [NotifyType.USE_TRANSPORT_MODE, 16391],
    [NotifyType.REKEY_SA, 16393],
    [NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED, 16394],
    [NotifyType.NON_FIRST_FRAGMENTS_ALSO, 16395],
    [NotifyType.MOBIKE_SUPPORTED, 16396], // RFC 4555
    [NotifyType.REDIRECT_SUPPORTED, 16406], // RFC 5685
    [NotifyType.CHILDLESS_IKEV2_SUPPORTED, 16418], // RFC 6023
    [NotifyType.IKEV2_FRAGMENTATION_SUPPORTED, 16430], // RFC 7383
    [NotifyType.SIGNATURE_HASH_ALGORITHMS, 16431], // RFC 7427
    [NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED, 16438], // RFC 9242
  ];
  for (const [actual, expected] of notify) assert.equal(actual, expected);
});

Deno.test("constants: no registry assigns one number to two names", () => {
  for (
    const registry of [
      ExchangeType,
      PayloadType,
      TransformType,
      NotifyType,
      IdType,
      AuthMethod,
      CertEncoding,
    ]
  ) {
    const values = Object.values(registry);
    assert.equal(new Set(values).size, values.length);
  }
});

Deno.test("constants: name lookups give IANA names or the number", () => {
  assert.equal(exchangeName(34), "IKE_SA_INIT");
  assert.equal(exchangeName(43), "IKE_INTERMEDIATE");
  assert.equal(exchangeName(99), "99");
  assert.deepEqual(
    [33, 34, 35, 36, 40, 41, 42, 43, 44, 45, 46, 47, 53].map(payloadName),
    ["SA", "KE", "IDi", "IDr", "NONCE", "N", "D", "V", "TSi", "TSr", "SK", "CP", "SKF"],
  );
  assert.equal(payloadName(0), "NONE");
  assert.equal(payloadName(7), "7");
  assert.equal(notifyName(14), "NO_PROPOSAL_CHOSEN");
  assert.equal(notifyName(16388), "NAT_DETECTION_SOURCE_IP");
  assert.equal(notifyName(16430), "IKEV2_FRAGMENTATION_SUPPORTED");
  assert.equal(notifyName(40960), "40960"); // private use
});

Deno.test("constants: error vs status Notify ranges", () => {
  assert.equal(isErrorNotify(NotifyType.INVALID_SYNTAX), true);
  assert.equal(isErrorNotify(16383), true);
  assert.equal(isErrorNotify(NotifyType.INITIAL_CONTACT), false);
});
