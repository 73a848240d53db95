#include "guard/service/requests.hpp"

#include "policy/codec/address.hpp"
#include "policy/codec/eip712.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::service {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxJsonDepth = 64;

std::unexpected<HttpError> bad(std::string message, std::string code = "bad-request", unsigned status = 400) {
  return std::unexpected(HttpError{status, std::move(code), std::move(message)});
}

std::string lower_hex(const codec::Address& a) { return codec::to_hex(a.view()); }

// The once-only key of a Safe transaction: (chain, Safe, nonce). A Safe whose domain has no chainId
// (1.1.1, 1.2.0) gets one safeTxHash, and so one signature, valid on every chain: its key has no chain
// ("*"), so a second transaction at that nonce is refused whatever chain it names.
store::Claim safe_claim(codec::SafeVersion version, const codec::U256& chain_id, const codec::Address& safe,
                        const codec::U256& nonce) {
  return store::Claim{codec::domain_has_chain_id(version) ? codec::to_decimal(chain_id) : std::string(store::kAnyChain),
                      lower_hex(safe), codec::to_decimal(nonce)};
}

// The request kind the guard signs for a decoded Safe transaction.
std::expected<SigningRequest, HttpError> safe_request_from_json(json object, const policy::Policy& policy,
                                                                 const std::string& requester, const std::string& at) {
  if (!object.is_object()) return bad(at + ": expected a JSON object (a Safe transaction)");
  // The Safe's version: as given, or the one the policy pins for (chainId, safe).
  if (!object.contains("safeVersion")) {
    if (!object.contains("chainId")) return bad(at + ".chainId: required");
    if (!object.contains("safe")) return bad(at + ".safe: required");
    auto chain = codec::json_u256(object.at("chainId"), at + ".chainId");
    auto safe = codec::json_address(object.at("safe"), at + ".safe");
    if (!chain) return bad(chain.error().message());
    if (!safe) return bad(safe.error().message());
    const policy::WalletSpec* wallet = policy.find_wallet(*chain, *safe);
    if (wallet == nullptr || !wallet->safe || !wallet->safe_version) {
      return bad(at + ".safeVersion: required for a Safe the policy does not declare (" + codec::to_checksum(*safe) +
                 " on chain " + codec::to_decimal(*chain) + ")");
    }
    object["safeVersion"] = std::string(codec::to_string(*wallet->safe_version));
  }
  auto parsed = codec::parse_safe_tx_request(object);
  if (!parsed) {
    std::string message = parsed.error().message();
    if (at != "$") message = at + " " + message;
    return bad(message);
  }
  const codec::Hash32 hash = codec::safe_tx_hash(parsed->tx, parsed->domain);
  if (parsed->claimed_hash && *parsed->claimed_hash != hash) {
    return bad(at + ".safeTxHash: " + codec::to_hex(*parsed->claimed_hash) + " is not the hash of this transaction (" +
                   codec::to_hex(hash) + "); nothing was signed",
               "hash-mismatch");
  }
  auto intent = codec::intent_from_safe_request(*parsed, policy.intent_context());
  if (!intent) return bad(intent.error().message());
  SigningRequest out;
  out.kind = SignKind::kSafe;
  out.requester = requester;
  out.intent = std::move(*intent);
  out.digest = hash;
  out.claim = safe_claim(parsed->domain.version, parsed->domain.chain_id, parsed->domain.safe, parsed->tx.nonce);
  out.payload = std::move(object);
  return out;
}

// The SafeTx of typed data (intent: the codec's picture, kTypedData) as the Safe route sees it. For
// a Safe the policy declares with its version: the intent POST /v1/safe/cosign builds for the same
// fields, and its claim, when the hash under the pinned version is the typed data's digest; when it
// is not (a domain of another version, or with other fields), the intent names a version that is
// not the pin, so the judge denies it (safe-version-mismatch) and no nonce is claimed. Any other
// verifyingContract keeps the codec's intent, as a Safe transaction: the judge denies it
// (unknown-wallet, chain-mismatch, or a wallet that is not a Safe).
std::expected<SigningRequest, HttpError> safe_tx_as_safe_request(const codec::Intent& typed_intent, const codec::Hash32& digest,
                                                                 const policy::Policy& policy, const std::string& requester) {
  const codec::SafeTxEntry& entry = typed_intent.safe_txs.front();
  const policy::WalletSpec* wallet =
      typed_intent.chain_id ? policy.find_wallet(*typed_intent.chain_id, entry.safe) : nullptr;
  if (wallet == nullptr || !wallet->safe || !wallet->safe_version) {
    SigningRequest out;
    out.intent = typed_intent;
    out.intent.kind = codec::RequestKind::kSafeTransaction;
    return out;
  }
  const codec::SafeTx& tx = entry.tx;
  const json body = {{"chainId", codec::to_decimal(*typed_intent.chain_id)},
                     {"safe", codec::to_checksum(entry.safe)},
                     {"to", codec::to_checksum(tx.to)},
                     {"value", codec::to_decimal(tx.value)},
                     {"data", codec::to_hex(tx.data)},
                     {"operation", tx.operation == codec::Operation::kCall ? 0 : 1},
                     {"safeTxGas", codec::to_decimal(tx.safe_tx_gas)},
                     {"baseGas", codec::to_decimal(tx.base_gas)},
                     {"gasPrice", codec::to_decimal(tx.gas_price)},
                     {"gasToken", codec::to_checksum(tx.gas_token)},
                     {"refundReceiver", codec::to_checksum(tx.refund_receiver)},
                     {"nonce", codec::to_decimal(tx.nonce)}};
  auto judged = safe_request_from_json(body, policy, requester, "typed data $.message");
  if (!judged) return judged;
  if (judged->digest != digest) {
    codec::SafeTxEntry& first = judged->intent.safe_txs.front();
    first.version = entry.version != wallet->safe_version ? entry.version : std::nullopt;
    first.safe_tx_hash = digest;
    judged->claim.reset();
  }
  return judged;
}

std::expected<std::uint64_t, HttpError> u64_field(const json& tx, const char* key, const std::string& path) {
  auto v = codec::json_u256(tx.at(key), path + "." + key);
  if (!v) return bad(v.error().message());
  auto small = codec::to_u64(*v);
  if (!small) return bad(path + "." + key + ": too large");
  return *small;
}

}  // namespace

std::expected<SigningRequest, HttpError> decode_safe_request(std::string_view body, const policy::Policy& policy,
                                                             const std::string& requester) {
  auto parsed = codec::parse_json_strict(body, kMaxJsonDepth);
  if (!parsed) return bad(parsed.error().message());
  return safe_request_from_json(std::move(*parsed), policy, requester, "$");
}

std::expected<SigningRequest, HttpError> decode_evaluation(std::string_view body, const policy::Policy& policy,
                                                           const std::string& requester, const codec::Address& guard) {
  auto parsed = codec::parse_json_strict(body, kMaxJsonDepth);
  if (!parsed) return bad(parsed.error().message());
  if (!parsed->is_object() || !parsed->contains("request")) return bad("$.request: required");
  for (const auto& [key, value] : parsed->items()) {
    if (key != "request" && key != "signer") return bad("$." + key + ": unknown field");
  }
  codec::Address signer = guard;
  if (parsed->contains("signer")) {
    auto s = codec::json_address(parsed->at("signer"), "$.signer");
    if (!s) return bad(s.error().message());
    signer = *s;
  }
  const json& request = parsed->at("request");
  if (request.is_string()) {
    auto raw = codec::json_bytes(request, "$.request");
    if (!raw) return bad(raw.error().message());
    auto txn = codec::decode_transaction(*raw);
    if (!txn) return bad("$.request: transaction: " + txn.error().message());
    if (!txn->signature) txn->from = signer;
    return transaction_request(*txn, policy, requester, txn->from.value_or(signer));
  }
  if (request.is_object() && (request.contains("types") || request.contains("primaryType"))) {
    return typed_data_request(request, policy, requester, signer, std::nullopt);
  }
  return safe_request_from_json(request, policy, requester, "$.request");
}

std::expected<codec::Transaction, HttpError> transaction_from_rpc(const json& tx, const codec::Address& guard,
                                                                  std::uint64_t chain_id) {
  const std::string at = "params[0]";
  if (!tx.is_object()) return bad(at + ": expected a transaction object");
  static constexpr std::array<std::string_view, 14> kKnown = {
      "from", "to", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "data", "input", "nonce",
      "chainId", "type", "accessList", "gasLimit"};
  for (const auto& [key, value] : tx.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) return bad(at + "." + key + ": not supported");
  }
  if (!tx.contains("from")) return bad(at + ".from: required (the guard's address " + codec::to_checksum(guard) + ")");
  auto from = codec::json_address(tx.at("from"), at + ".from");
  if (!from) return bad(from.error().message());
  if (*from != guard) {
    return bad(at + ".from: txguard signs only as " + codec::to_checksum(guard), "unknown-account");
  }
  codec::Transaction txn;
  txn.from = *from;
  if (tx.contains("to") && !tx.at("to").is_null()) {
    auto to = codec::json_address(tx.at("to"), at + ".to");
    if (!to) return bad(to.error().message());
    txn.to = *to;
  }
  for (const char* key : {"nonce", "gas"}) {
    if (!tx.contains(key)) return bad(at + "." + key + ": required");
  }
  auto nonce = u64_field(tx, "nonce", at);
  if (!nonce) return std::unexpected(nonce.error());
  txn.nonce = *nonce;
  auto gas = u64_field(tx, "gas", at);
  if (!gas) return std::unexpected(gas.error());
  txn.gas_limit = *gas;
  if (tx.contains("value")) {
    auto v = codec::json_u256(tx.at("value"), at + ".value");
    if (!v) return bad(v.error().message());
    txn.value = *v;
  }
  std::optional<codec::Bytes> data, input;
  for (const char* key : {"data", "input"}) {
    if (tx.contains(key) && !tx.at(key).is_null()) {
      auto b = codec::json_bytes(tx.at(key), at + "." + key);
      if (!b) return bad(b.error().message());
      (std::string_view(key) == "data" ? data : input) = std::move(*b);
    }
  }
  if (data && input && *data != *input) return bad(at + ".input: differs from data");
  txn.data = data ? *data : input.value_or(codec::Bytes{});
  if (tx.contains("chainId")) {
    auto c = u64_field(tx, "chainId", at);
    if (!c) return std::unexpected(c.error());
    if (*c != chain_id) return bad(at + ".chainId: " + std::to_string(*c) + " is not this endpoint's chain " + std::to_string(chain_id));
  }
  txn.chain_id = chain_id;
  if (tx.contains("accessList")) return bad(at + ".accessList: not supported by txguard yet");
  const bool legacy = tx.contains("gasPrice");
  const bool dynamic = tx.contains("maxFeePerGas") || tx.contains("maxPriorityFeePerGas");
  if (legacy == dynamic) return bad(at + ": give gasPrice, or maxFeePerGas and maxPriorityFeePerGas");
  std::optional<std::uint64_t> type;
  if (tx.contains("type")) {
    auto t = u64_field(tx, "type", at);
    if (!t) return std::unexpected(t.error());
    type = *t;
  }
  if (legacy) {
    if (type && *type != 0) return bad(at + ".type: gasPrice means type 0x0");
    auto p = codec::json_u256(tx.at("gasPrice"), at + ".gasPrice");
    if (!p) return bad(p.error().message());
    txn.type = codec::TxnType::kLegacy;
    txn.gas_price = *p;
  } else {
    if (type && *type != 2) return bad(at + ".type: maxFeePerGas means type 0x2");
    if (!tx.contains("maxFeePerGas") || !tx.contains("maxPriorityFeePerGas")) {
      return bad(at + ": give both maxFeePerGas and maxPriorityFeePerGas");
    }
    auto fee = codec::json_u256(tx.at("maxFeePerGas"), at + ".maxFeePerGas");
    if (!fee) return bad(fee.error().message());
    auto tip = codec::json_u256(tx.at("maxPriorityFeePerGas"), at + ".maxPriorityFeePerGas");
    if (!tip) return bad(tip.error().message());
    if (*tip > *fee) return bad(at + ".maxPriorityFeePerGas: above maxFeePerGas");
    txn.type = codec::TxnType::kDynamicFee;
    txn.max_fee_per_gas = *fee;
    txn.max_priority_fee_per_gas = *tip;
  }
  return txn;
}

std::expected<SigningRequest, HttpError> transaction_request(const codec::Transaction& txn, const policy::Policy& policy,
                                                             const std::string& requester, const codec::Address& guard) {
  codec::Transaction unsigned_txn = txn;
  unsigned_txn.signature.reset();
  unsigned_txn.from = guard;
  codec::IntentContext context = policy.intent_context();
  context.signer = guard;
  auto intent = codec::intent_from_transaction(unsigned_txn, context);
  if (!intent) return bad(intent.error().message());
  SigningRequest out;
  out.kind = SignKind::kTransaction;
  out.requester = requester;
  out.intent = std::move(*intent);
  out.digest = codec::signing_hash(unsigned_txn);
  const codec::Bytes encoded = codec::encode_unsigned_transaction(unsigned_txn);
  out.payload = {{"transaction_hex", codec::to_hex(encoded)}, {"from", codec::to_checksum(guard)}};
  if (unsigned_txn.chain_id) {
    out.claim = store::Claim{std::to_string(*unsigned_txn.chain_id), lower_hex(guard), std::to_string(unsigned_txn.nonce)};
  }
  out.transaction = std::move(unsigned_txn);
  return out;
}

std::expected<SigningRequest, HttpError> typed_data_request(const json& data, const policy::Policy& policy,
                                                            const std::string& requester, const codec::Address& guard,
                                                            std::optional<std::uint64_t> chain_id) {
  json object;
  if (data.is_string()) {
    auto parsed = codec::parse_json_strict(data.get_ref<const std::string&>(), kMaxJsonDepth);
    if (!parsed) return bad("typed data: " + parsed.error().message());
    object = std::move(*parsed);
  } else {
    object = data;
  }
  auto typed = codec::parse_typed_data(object);
  if (!typed) return bad("typed data: " + typed.error().message());
  codec::IntentContext context = policy.intent_context();
  context.signer = guard;
  if (chain_id) context.chain_id = codec::U256(*chain_id);
  auto intent = codec::intent_from_typed_data(*typed, context);
  if (!intent) return bad("typed data: " + intent.error().message());
  SigningRequest out;
  out.kind = SignKind::kTypedData;
  out.requester = requester;
  out.intent = std::move(*intent);
  out.digest = typed->digest;
  // A SafeTx signs a Safe's transaction whichever door it comes through: it is judged as POST
  // /v1/safe/cosign judges it (that route's intent, the pinned version, the same once-only claim).
  if (!out.intent.safe_txs.empty() && out.intent.safe_txs.front().safe_tx_hash == out.digest) {
    auto judged = safe_tx_as_safe_request(out.intent, out.digest, policy, requester);
    if (!judged) return std::unexpected(judged.error());
    out.intent = std::move(judged->intent);
    out.claim = std::move(judged->claim);
  }
  out.payload = {{"typed_data", object}, {"signer", codec::to_checksum(guard)}};
  if (chain_id) out.payload["chain_id"] = *chain_id;
  return out;
}

std::expected<SigningRequest, HttpError> message_request(const json& message, const policy::Policy& policy,
                                                         const std::string& requester, const codec::Address& guard,
                                                         std::optional<std::uint64_t> chain_id) {
  if (!message.is_string()) return bad("message: expected a string (0x hex bytes or text)");
  const std::string& text = message.get_ref<const std::string&>();
  codec::Bytes bytes;
  if (text.starts_with("0x")) {
    auto b = codec::from_hex(text);
    if (!b) return bad("message: " + b.error().message());
    bytes = std::move(*b);
  } else {
    bytes.assign(text.begin(), text.end());
  }
  codec::IntentContext context = policy.intent_context();
  context.signer = guard;
  if (chain_id) context.chain_id = codec::U256(*chain_id);
  SigningRequest out;
  out.kind = SignKind::kMessage;
  out.requester = requester;
  out.intent = codec::intent_from_message(bytes, context);
  out.digest = codec::personal_message_digest(bytes);
  out.payload = {{"message", codec::to_hex(bytes)}, {"signer", codec::to_checksum(guard)}};
  if (chain_id) out.payload["chain_id"] = *chain_id;
  return out;
}

namespace {

std::expected<SigningRequest, HttpError> bridge_release_from_json(const json& body, const policy::Policy& policy,
                                                                  const std::string& requester) {
  if (!body.is_object()) return bad("$: expected an object");
  for (const auto& [key, value] : body.items()) {
    (void)value;
    if (key != "route" && key != "release" && key != "attestation") return bad("$." + key + ": unknown field");
  }
  for (const char* key : {"route", "release", "attestation"}) {
    if (!body.contains(key)) return bad(std::string("$.") + key + ": required");
  }
  if (!body.at("route").is_string()) return bad("$.route: expected a route name");
  const std::string route_name = body.at("route").get<std::string>();
  const auto route = policy.bridges.find(route_name);
  if (!route) return std::unexpected(HttpError{404, "unknown-route", "$.route: no route \"" + route_name + "\" in the policy"});
  auto release = safe_request_from_json(body.at("release"), policy, requester, "$.release");
  if (!release) return release;
  const json& att = body.at("attestation");
  if (!att.is_object()) return bad("$.attestation: expected an object");
  for (const auto& [key, value] : att.items()) {
    (void)value;
    if (key != "kind" && key != "validator_set" && key != "message" && key != "signatures") {
      return bad("$.attestation." + key + ": unknown field");
    }
  }
  if (att.value("kind", std::string()) != "eip712") {
    return bad("$.attestation.kind: expected \"eip712\" (txguard's withdrawal attestation)");
  }
  if (policy.bridges.routes[*route].kind != policy::RouteKind::kAttestation) {
    return bad("$.attestation.kind: route " + route_name + " takes Wormhole VAAs, not eip712 attestations");
  }
  if (!att.contains("validator_set") || !att.at("validator_set").is_number_unsigned() ||
      att.at("validator_set").get<std::uint64_t>() > 0xffffffffu) {
    return bad("$.attestation.validator_set: expected the index of the validator set that signed");
  }
  if (!att.contains("message")) return bad("$.attestation.message: required");
  auto message = policy::attestation_from_json(att.at("message"), "$.attestation.message");
  if (!message) return bad(message.error().message());
  if (!att.contains("signatures") || !att.at("signatures").is_array()) {
    return bad("$.attestation.signatures: expected an array of 0x signatures");
  }
  const json& sigs = att.at("signatures");
  if (sigs.size() > 256) return bad("$.attestation.signatures: more than 256 signatures");
  policy::ReleaseClaim claim;
  claim.route = *route;
  claim.validator_set = static_cast<std::uint32_t>(att.at("validator_set").get<std::uint64_t>());
  claim.attestation = *message;
  json sig_hex = json::array();
  for (std::size_t i = 0; i < sigs.size(); ++i) {
    auto bytes = codec::json_bytes(sigs[i], codec::json_path("$.attestation.signatures", i));
    if (!bytes) return bad(bytes.error().message());
    if (bytes->size() != 65) {
      return bad(codec::json_path("$.attestation.signatures", i) + ": a signature is 65 bytes (r, s, v), not " +
                 std::to_string(bytes->size()));
    }
    sig_hex.push_back(codec::to_hex(*bytes));
    claim.signatures.push_back(std::move(*bytes));
  }
  SigningRequest req = std::move(*release);
  req.kind = SignKind::kBridgeRelease;
  req.payload = {{"route", route_name},
                 {"release", req.payload},
                 {"attestation", {{"kind", "eip712"},
                                  {"validator_set", claim.validator_set},
                                  {"message", policy::to_json(claim.attestation)},
                                  {"signatures", sig_hex}}}};
  req.bridge = BridgeRelease{std::move(claim), {}};
  return req;
}

}  // namespace

std::expected<SigningRequest, HttpError> decode_bridge_release(std::string_view body, const policy::Policy& policy,
                                                               const std::string& requester) {
  auto parsed = codec::parse_json_strict(body, kMaxJsonDepth);
  if (!parsed) return bad(parsed.error().message());
  return bridge_release_from_json(*parsed, policy, requester);
}

void attach_observation(SigningRequest& request, const json& observation) {
  request.payload["observation"] = observation;
  if (!request.bridge) return;
  policy::SourceFacts& facts = request.bridge->source;
  facts.status = observation.is_object() ? observation.value("reason", std::string("source-unreachable"))
                                         : std::string("source-unreachable");
  facts.detail = observation.is_object() ? observation.value("detail", std::string()) : std::string();
  facts.event = observation.is_object() && observation.contains("event") ? observation.at("event") : json(nullptr);
}

SigningRequest unpause_request(const std::string& scope, const std::string& requester) {
  SigningRequest req;
  req.kind = SignKind::kUnpause;
  req.requester = requester;
  req.unpause_scope = scope;
  req.intent.kind = codec::RequestKind::kMessage;
  req.payload = {{"scope", scope}};
  return req;
}

std::expected<SigningRequest, HttpError> recorded_request(std::string_view kind, const json& payload,
                                                          const policy::Policy& policy, const std::string& requester) {
  if (!payload.is_object()) return bad("recorded request: the payload is not an object");
  const auto signer_of = [&]() -> std::expected<codec::Address, HttpError> {
    const auto it = payload.find(payload.contains("from") ? "from" : "signer");
    if (it == payload.end() || !it->is_string()) return bad("recorded request: no signer");
    auto a = codec::parse_address(it->get<std::string>());
    if (!a) return bad("recorded request: signer: " + a.error().message());
    return *a;
  };
  std::optional<std::uint64_t> chain_id;
  if (const auto c = payload.find("chain_id"); c != payload.end()) {
    if (!c->is_number_unsigned()) return bad("recorded request: chain_id is not a number");
    chain_id = c->get<std::uint64_t>();
  }
  if (kind == to_string(SignKind::kSafe)) return decode_safe_request(payload.dump(), policy, requester);
  if (kind == to_string(SignKind::kBridgeRelease)) {
    json body = payload;
    const json observation = body.contains("observation") ? body.at("observation") : json(nullptr);
    body.erase("observation");
    auto req = bridge_release_from_json(body, policy, requester);
    if (!req) return req;
    attach_observation(*req, observation);
    return req;
  }
  if (kind == to_string(SignKind::kUnpause)) {
    if (!payload.contains("scope") || !payload.at("scope").is_string()) return bad("recorded request: no scope");
    return unpause_request(payload.at("scope").get<std::string>(), requester);
  }
  auto signer = signer_of();
  if (!signer) return std::unexpected(signer.error());
  if (kind == to_string(SignKind::kTransaction)) {
    const auto hex = payload.find("transaction_hex");
    if (hex == payload.end() || !hex->is_string()) return bad("recorded request: no transaction_hex");
    auto raw = codec::from_hex(hex->get<std::string>());
    if (!raw) return bad("recorded request: transaction_hex: " + raw.error().message());
    auto txn = codec::decode_transaction(*raw);
    if (!txn) return bad("recorded request: transaction: " + txn.error().message());
    return transaction_request(*txn, policy, requester, *signer);
  }
  if (kind == to_string(SignKind::kTypedData)) {
    const auto data = payload.find("typed_data");
    if (data == payload.end()) return bad("recorded request: no typed_data");
    return typed_data_request(*data, policy, requester, *signer, chain_id);
  }
  if (kind == to_string(SignKind::kMessage)) {
    const auto message = payload.find("message");
    if (message == payload.end()) return bad("recorded request: no message");
    return message_request(*message, policy, requester, *signer, chain_id);
  }
  return bad("recorded request: unknown kind \"" + std::string(kind) + "\"");
}

}  // namespace txguard::service
