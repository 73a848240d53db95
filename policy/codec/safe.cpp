#include "policy/codec/safe.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include <nlohmann/json.hpp>

#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"

namespace txguard::codec {
namespace {

// keccak256("EIP712Domain(address verifyingContract)"), Safe 1.0.0 to 1.2.0.
constexpr std::string_view kDomainTypehashLegacy = "0x035aff83d86937d35b32e04f0ddc6ff469290eef2f1b692d8a815c89404d4749";
// keccak256("EIP712Domain(uint256 chainId,address verifyingContract)"), Safe 1.3.0 on.
constexpr std::string_view kDomainTypehashChainId = "0x47e79534a245952e8b16893a336b85a3d9ea9fa8c573f3d803afb92a79469218";
// keccak256("SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")
constexpr std::string_view kSafeTxTypehash = "0xbb8310d486368db6bd6f849402fdd73ad53d316b5a4b2644ad6efe0f941286d8";

const Hash32& typehash(std::string_view hex) {
  // Only ever called with the three constants above; each is parsed once.
  static const Hash32 legacy = from_hex_fixed<32>(kDomainTypehashLegacy).value();
  static const Hash32 chain = from_hex_fixed<32>(kDomainTypehashChainId).value();
  static const Hash32 safe_tx = from_hex_fixed<32>(kSafeTxTypehash).value();
  return hex == kDomainTypehashLegacy ? legacy : hex == kDomainTypehashChainId ? chain : safe_tx;
}

void append(Bytes& out, const Hash32& word) { out.insert(out.end(), word.begin(), word.end()); }

std::size_t to_size(const Hash32& word, bool& fits) {
  for (std::size_t i = 0; i < 24; ++i) {
    if (word[i] != 0) {
      fits = false;
      return 0;
    }
  }
  std::uint64_t v = 0;
  for (std::size_t i = 24; i < 32; ++i) v = (v << 8) | word[i];
  fits = v <= std::numeric_limits<std::size_t>::max() / 2;
  return static_cast<std::size_t>(v);
}

Hash32 word_at(ByteView in, std::size_t pos) {
  Hash32 w{};
  std::copy(in.begin() + static_cast<std::ptrdiff_t>(pos), in.begin() + static_cast<std::ptrdiff_t>(pos + 32), w.begin());
  return w;
}

}  // namespace

Decoded<SafeVersion> parse_safe_version(std::string_view text) {
  std::string_view v = text;
  if (!v.empty() && v.front() == 'v') v.remove_prefix(1);
  if (v.ends_with("+L2")) v.remove_suffix(3);
  if (v == "1.1.1") return SafeVersion::k1_1_1;
  if (v == "1.2.0") return SafeVersion::k1_2_0;
  if (v == "1.3.0") return SafeVersion::k1_3_0;
  if (v == "1.4.1") return SafeVersion::k1_4_1;
  if (v == "1.5.0") return SafeVersion::k1_5_0;
  return fail(DecodeErrc::kUnknownSafeVersion, 0, {},
              "supported Safe versions: 1.1.1, 1.2.0, 1.3.0, 1.4.1, 1.5.0");
}

std::string_view to_string(SafeVersion version) noexcept {
  switch (version) {
    case SafeVersion::k1_1_1: return "1.1.1";
    case SafeVersion::k1_2_0: return "1.2.0";
    case SafeVersion::k1_3_0: return "1.3.0";
    case SafeVersion::k1_4_1: return "1.4.1";
    case SafeVersion::k1_5_0: return "1.5.0";
  }
  return "unknown";
}

bool domain_has_chain_id(SafeVersion version) noexcept {
  return version != SafeVersion::k1_1_1 && version != SafeVersion::k1_2_0;
}

std::string_view to_string(Operation op) noexcept { return op == Operation::kCall ? "CALL" : "DELEGATECALL"; }

Hash32 safe_domain_separator(const SafeDomain& domain) {
  Bytes enc;
  enc.reserve(96);
  // Safe < 1.3.0: EIP712Domain(address verifyingContract), no chainId (safe-facts.json "eip712").
  if (domain_has_chain_id(domain.version)) {
    append(enc, typehash(kDomainTypehashChainId));
    append(enc, u256_to_be32(domain.chain_id));
  } else {
    append(enc, typehash(kDomainTypehashLegacy));
  }
  append(enc, address_to_word(domain.safe));
  return keccak256(enc);
}

Hash32 safe_tx_struct_hash(const SafeTx& tx) {
  Bytes enc;
  enc.reserve(11 * 32);
  append(enc, typehash(kSafeTxTypehash));
  append(enc, address_to_word(tx.to));
  append(enc, u256_to_be32(tx.value));
  append(enc, keccak256(tx.data));  // EIP-712: dynamic bytes enter as their hash
  append(enc, u256_to_be32(U256(static_cast<unsigned>(tx.operation))));
  append(enc, u256_to_be32(tx.safe_tx_gas));
  append(enc, u256_to_be32(tx.base_gas));
  append(enc, u256_to_be32(tx.gas_price));
  append(enc, address_to_word(tx.gas_token));
  append(enc, address_to_word(tx.refund_receiver));
  append(enc, u256_to_be32(tx.nonce));
  return keccak256(enc);
}

Hash32 safe_tx_hash(const SafeTx& tx, const SafeDomain& domain) {
  const std::uint8_t prefix[2] = {0x19, 0x01};
  const Hash32 separator = safe_domain_separator(domain);
  const Hash32 structure = safe_tx_struct_hash(tx);
  return keccak256({ByteView(prefix), ByteView(separator), ByteView(structure)});
}

Decoded<SafeTxRequest> parse_safe_tx_request(const nlohmann::json& json) {
  if (!json.is_object()) return fail(DecodeErrc::kInvalidJson, 0, "$", "expected a JSON object");
  static constexpr std::array<std::string_view, 13> kRequired = {
      "to", "value", "operation", "safeTxGas", "baseGas", "gasPrice", "gasToken",
      "refundReceiver", "nonce", "chainId", "safe", "safeVersion", "data"};
  static constexpr std::array<std::string_view, 3> kOptional = {"safeTxHash", "contractTransactionHash", "signatures"};
  for (const auto& [key, value] : json.items()) {
    const bool known = std::find(kRequired.begin(), kRequired.end(), key) != kRequired.end() ||
                       std::find(kOptional.begin(), kOptional.end(), key) != kOptional.end();
    if (!known) return fail(DecodeErrc::kInvalidField, 0, json_path("$", key), "unknown field");
  }
  for (std::string_view key : kRequired) {
    if (key == "data") continue;
    if (!json.contains(key)) return fail(DecodeErrc::kMissingField, 0, json_path("$", key), "required");
  }

  SafeTxRequest out;
  auto u256_field = [&](std::string_view key, U256& dst) -> std::optional<DecodeError> {
    auto v = json_u256(json.at(std::string(key)), json_path("$", key));
    if (!v) return v.error();
    dst = *v;
    return std::nullopt;
  };
  auto address_field = [&](std::string_view key, Address& dst) -> std::optional<DecodeError> {
    auto v = json_address(json.at(std::string(key)), json_path("$", key));
    if (!v) return v.error();
    dst = *v;
    return std::nullopt;
  };
  for (auto err : {address_field("to", out.tx.to), u256_field("value", out.tx.value),
                   u256_field("safeTxGas", out.tx.safe_tx_gas), u256_field("baseGas", out.tx.base_gas),
                   u256_field("gasPrice", out.tx.gas_price), address_field("gasToken", out.tx.gas_token),
                   address_field("refundReceiver", out.tx.refund_receiver), u256_field("nonce", out.tx.nonce),
                   u256_field("chainId", out.domain.chain_id), address_field("safe", out.domain.safe)}) {
    if (err) return std::unexpected(*err);
  }
  U256 op = 0;
  if (auto err = u256_field("operation", op)) return std::unexpected(*err);
  if (op > 1) return fail(DecodeErrc::kInvalidField, 0, "$.operation", "must be 0 (CALL) or 1 (DELEGATECALL)");
  out.tx.operation = op == 0 ? Operation::kCall : Operation::kDelegateCall;

  if (json.contains("data") && !json.at("data").is_null()) {
    auto data = json_bytes(json.at("data"), "$.data");
    if (!data) return std::unexpected(data.error());
    out.tx.data = std::move(*data);
  }
  const auto& version = json.at("safeVersion");
  if (!version.is_string()) return fail(DecodeErrc::kInvalidField, 0, "$.safeVersion", "expected a string like \"1.4.1\"");
  auto parsed_version = parse_safe_version(version.get_ref<const std::string&>());
  if (!parsed_version) return fail(DecodeErrc::kUnknownSafeVersion, 0, "$.safeVersion", parsed_version.error().detail);
  out.domain.version = *parsed_version;

  const bool has_hash = json.contains("safeTxHash");
  const bool has_contract_hash = json.contains("contractTransactionHash");
  if (has_hash && has_contract_hash && json.at("safeTxHash") != json.at("contractTransactionHash")) {
    return fail(DecodeErrc::kInvalidField, 0, "$.contractTransactionHash", "differs from safeTxHash");
  }
  if (has_hash || has_contract_hash) {
    const char* key = has_hash ? "safeTxHash" : "contractTransactionHash";
    auto h = json_hash32(json.at(key), json_path("$", key));
    if (!h) return std::unexpected(h.error());
    out.claimed_hash = *h;
  }
  if (json.contains("signatures") && !json.at("signatures").is_null()) {
    auto sigs = json_bytes(json.at("signatures"), "$.signatures");
    if (!sigs) return std::unexpected(sigs.error());
    out.signatures = std::move(*sigs);
  }
  return out;
}

std::string_view to_string(SafeSignatureKind kind) noexcept {
  switch (kind) {
    case SafeSignatureKind::kContract: return "contract";
    case SafeSignatureKind::kApprovedHash: return "approved-hash";
    case SafeSignatureKind::kEcdsa: return "ecdsa";
    case SafeSignatureKind::kEthSign: return "eth-sign";
  }
  return "unknown";
}

Decoded<SafeSignatures> parse_safe_signatures(ByteView blob, const std::optional<Hash32>& hash,
                                              std::size_t base_offset) {
  // The static part ends where the first contract signature's dynamic data begins. Find that bound
  // as we go: it can only shrink.
  std::size_t static_end = blob.size();
  SafeSignatures out;
  std::size_t pos = 0;
  while (pos < static_end) {
    if (static_end - pos < 65) {
      return fail(DecodeErrc::kTrailingBytes, base_offset + pos, {}, "signature blob is not a whole number of 65-byte items");
    }
    SafeSignature sig;
    sig.offset = base_offset + pos;
    sig.r = word_at(blob, pos);
    sig.s = word_at(blob, pos + 32);
    sig.v = blob[pos + 64];
    switch (sig.v) {
      case 0:
      case 1: {
        // r carries the owner address, left-padded.
        if (!std::all_of(sig.r.begin(), sig.r.begin() + 12, [](std::uint8_t b) { return b == 0; })) {
          return fail(DecodeErrc::kDirtyPadding, base_offset + pos, {}, "owner word has non-zero high bytes");
        }
        sig.owner = address_from_word(sig.r);
        if (sig.v == 1) {
          sig.kind = SafeSignatureKind::kApprovedHash;
          break;
        }
        sig.kind = SafeSignatureKind::kContract;
        bool fits = true;
        const std::size_t data_offset = to_size(sig.s, fits);
        // The dynamic part must lie after the static part (Safe: GS021), and hold a length word.
        if (!fits || data_offset < pos + 65 || data_offset > blob.size() || blob.size() - data_offset < 32) {
          return fail(DecodeErrc::kOffsetOutOfRange, base_offset + pos + 32, {}, "contract signature offset outside the blob");
        }
        const std::size_t len = to_size(word_at(blob, data_offset), fits);
        if (!fits || len > blob.size() - data_offset - 32) {
          return fail(DecodeErrc::kInputTooShort, base_offset + data_offset, {}, "contract signature longer than the blob");
        }
        const auto begin = blob.begin() + static_cast<std::ptrdiff_t>(data_offset + 32);
        sig.contract_signature.assign(begin, begin + static_cast<std::ptrdiff_t>(len));
        static_end = std::min(static_end, data_offset);
        break;
      }
      case 27:
      case 28:
      case 31:
      case 32: {
        sig.kind = sig.v <= 28 ? SafeSignatureKind::kEcdsa : SafeSignatureKind::kEthSign;
        sig.high_s = !is_low_s(sig.s);
        if (hash) {
          Hash32 digest = *hash;
          if (sig.kind == SafeSignatureKind::kEthSign) {
            // v = 31/32: the owner signed with eth_sign, i.e. over the EIP-191 prefixed hash.
            static constexpr std::string_view kPrefix = "\x19" "Ethereum Signed Message:\n32";
            digest = keccak256({ByteView(reinterpret_cast<const std::uint8_t*>(kPrefix.data()), kPrefix.size()),
                                ByteView(*hash)});
          }
          const auto recid = static_cast<std::uint8_t>(sig.v - (sig.kind == SafeSignatureKind::kEcdsa ? 27 : 31));
          // Safe's ecrecover accepts high s; so does this decoder, flagging it.
          auto owner = recover_address(digest, sig.r, sig.s, recid, SPolicy::kAnyS);
          if (!owner) return fail(owner.error().code, base_offset + pos, {}, owner.error().detail);
          sig.owner = *owner;
        }
        break;
      }
      default:
        return fail(DecodeErrc::kInvalidV, base_offset + pos + 64, {},
                    "v must be 0 (contract), 1 (approved hash), 27/28 (ECDSA) or 31/32 (eth_sign)");
    }
    out.items.push_back(std::move(sig));
    pos += 65;
  }
  for (std::size_t i = 1; i < out.items.size(); ++i) {
    const auto& prev = out.items[i - 1].owner;
    const auto& cur = out.items[i].owner;
    if (!prev || !cur || !(*prev < *cur)) out.strictly_ascending = false;
  }
  return out;
}

Decoded<std::vector<MultiSendItem>> parse_multisend(ByteView packed, std::size_t base_offset, std::size_t max_items) {
  std::vector<MultiSendItem> items;
  std::size_t pos = 0;
  constexpr std::size_t kHeader = 1 + 20 + 32 + 32;
  while (pos < packed.size()) {
    if (items.size() >= max_items) return fail(DecodeErrc::kTooDeep, base_offset + pos, {}, "too many batch items");
    if (packed.size() - pos < kHeader) return fail(DecodeErrc::kInputTooShort, base_offset + pos, {}, "truncated batch item");
    MultiSendItem item;
    item.offset = base_offset + pos;
    const std::uint8_t op = packed[pos];
    // MultiSend treats any other operation as a failed call and reverts the batch.
    if (op > 1) return fail(DecodeErrc::kInvalidField, base_offset + pos, {}, "batch item operation must be 0 or 1");
    item.operation = static_cast<Operation>(op);
    std::copy(packed.begin() + static_cast<std::ptrdiff_t>(pos + 1), packed.begin() + static_cast<std::ptrdiff_t>(pos + 21),
              item.to.bytes.begin());
    item.value = u256_from_be(packed.subspan(pos + 21, 32));
    bool fits = true;
    const std::size_t len = to_size(word_at(packed, pos + 53), fits);
    if (!fits) return fail(DecodeErrc::kOverflow, base_offset + pos + 53, {}, "batch item data length overflows");
    if (len > packed.size() - pos - kHeader) {
      return fail(DecodeErrc::kInputTooShort, base_offset + pos + 53, {}, "batch item data runs past the batch");
    }
    item.data = packed.subspan(pos + kHeader, len);
    items.push_back(item);
    pos += kHeader + len;
  }
  return items;
}

Bytes encode_multisend(std::span<const MultiSendItem> items) {
  Bytes out;
  for (const auto& item : items) {
    out.push_back(static_cast<std::uint8_t>(item.operation));
    out.insert(out.end(), item.to.bytes.begin(), item.to.bytes.end());
    append(out, u256_to_be32(item.value));
    append(out, u256_to_be32(U256(item.data.size())));
    out.insert(out.end(), item.data.begin(), item.data.end());
  }
  return out;
}

std::string_view to_string(SafeLibrary library) noexcept {
  switch (library) {
    case SafeLibrary::kMultiSend: return "MultiSend";
    case SafeLibrary::kMultiSendCallOnly: return "MultiSendCallOnly";
    case SafeLibrary::kSignMessageLib: return "SignMessageLib";
    case SafeLibrary::kCreateCall: return "CreateCall";
  }
  return "unknown";
}

namespace {

struct LibraryDeployment {
  SafeVersion version;
  SafeLibrary library;
  std::string_view address;
};

// safe-global/safe-deployments, canonical and eip155 deployments (fixtures/safe/safe-facts.json).
// Safe 1.2.0 used the 1.1.1 libraries.
constexpr LibraryDeployment kDeployments[] = {
    {SafeVersion::k1_1_1, SafeLibrary::kMultiSend, "0x8D29bE29923b68abfDD21e541b9374737B49cdAD"},
    {SafeVersion::k1_1_1, SafeLibrary::kCreateCall, "0x8538FcBccba7f5303d2C679Fa5d7A629A8c9bf4A"},
    {SafeVersion::k1_2_0, SafeLibrary::kMultiSend, "0x8D29bE29923b68abfDD21e541b9374737B49cdAD"},
    {SafeVersion::k1_2_0, SafeLibrary::kCreateCall, "0x8538FcBccba7f5303d2C679Fa5d7A629A8c9bf4A"},
    {SafeVersion::k1_3_0, SafeLibrary::kMultiSend, "0xA238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761"},
    {SafeVersion::k1_3_0, SafeLibrary::kMultiSend, "0x998739BFdAAdde7C933B942a68053933098f9EDa"},
    {SafeVersion::k1_3_0, SafeLibrary::kMultiSendCallOnly, "0x40A2aCCbd92BCA938b02010E17A5b8929b49130D"},
    {SafeVersion::k1_3_0, SafeLibrary::kMultiSendCallOnly, "0xA1dabEF33b3B82c7814B6D82A79e50F4AC44102B"},
    {SafeVersion::k1_3_0, SafeLibrary::kSignMessageLib, "0xA65387F16B013cf2Af4605Ad8aA5ec25a2cbA3a2"},
    {SafeVersion::k1_3_0, SafeLibrary::kSignMessageLib, "0x98FFBBF51bb33A056B08ddf711f289936AafF717"},
    {SafeVersion::k1_3_0, SafeLibrary::kCreateCall, "0x7cbB62EaA69F79e6873cD1ecB2392971036cFAa4"},
    {SafeVersion::k1_3_0, SafeLibrary::kCreateCall, "0xB19D6FFc2182150F8Eb585b79D4ABcd7C5640A9d"},
    {SafeVersion::k1_4_1, SafeLibrary::kMultiSend, "0x38869bf66a61cF6bDB996A6aE40D5853Fd43B526"},
    {SafeVersion::k1_4_1, SafeLibrary::kMultiSendCallOnly, "0x9641d764fc13c8B624c04430C7356C1C7C8102e2"},
    {SafeVersion::k1_4_1, SafeLibrary::kSignMessageLib, "0xd53cd0aB83D845Ac265BE939c57F53AD838012c9"},
    {SafeVersion::k1_4_1, SafeLibrary::kCreateCall, "0x9b35Af71d77eaf8d7e40252370304687390A1A52"},
    {SafeVersion::k1_5_0, SafeLibrary::kMultiSend, "0x218543288004CD07832472D464648173c77D7eB7"},
    {SafeVersion::k1_5_0, SafeLibrary::kMultiSendCallOnly, "0xA83c336B20401Af773B6219BA5027174338D1836"},
    {SafeVersion::k1_5_0, SafeLibrary::kSignMessageLib, "0x4FfeF8222648872B3dE295Ba1e49110E61f5b5aa"},
    {SafeVersion::k1_5_0, SafeLibrary::kCreateCall, "0x2Ef5ECfbea521449E4De05EDB1ce63B75eDA90B4"},
};

struct ParsedDeployment {
  SafeVersion version;
  SafeLibrary library;
  Address address;
};

// Parsed once: every call of the intent builder asks, so the EIP-55 text must not be re-hashed.
const std::vector<ParsedDeployment>& deployments() {
  static const std::vector<ParsedDeployment> parsed = [] {
    std::vector<ParsedDeployment> out;
    for (const auto& d : kDeployments) out.push_back({d.version, d.library, parse_address(d.address).value()});
    return out;
  }();
  return parsed;
}

}  // namespace

std::vector<Address> canonical_library_addresses(SafeVersion version, SafeLibrary library) {
  std::vector<Address> out;
  for (const auto& d : deployments()) {
    if (d.version == version && d.library == library) out.push_back(d.address);
  }
  return out;
}

std::optional<SafeLibrary> identify_safe_library(const Address& address) {
  for (const auto& d : deployments()) {
    if (d.address == address) return d.library;
  }
  return std::nullopt;
}

}  // namespace txguard::codec
