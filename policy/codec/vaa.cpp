#include "policy/codec/vaa.hpp"

#include <algorithm>
#include <string>

#include "policy/codec/keccak.hpp"

namespace txguard::codec {
namespace {

// Every read is bounds-checked by the caller through need(); a Reader never reads past its view.
class Reader {
 public:
  explicit Reader(ByteView input) : input_(input) {}
  std::size_t pos() const noexcept { return pos_; }
  std::size_t left() const noexcept { return input_.size() - pos_; }
  bool need(std::size_t n) const noexcept { return left() >= n; }
  std::uint64_t uint(std::size_t width) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | input_[pos_ + i];
    pos_ += width;
    return v;
  }
  Hash32 word() noexcept {
    Hash32 out{};
    std::copy_n(input_.begin() + static_cast<std::ptrdiff_t>(pos_), 32, out.begin());
    pos_ += 32;
    return out;
  }
  Address address() noexcept {
    Address out;
    std::copy_n(input_.begin() + static_cast<std::ptrdiff_t>(pos_), 20, out.bytes.begin());
    pos_ += 20;
    return out;
  }
  Bytes rest() {
    Bytes out(input_.begin() + static_cast<std::ptrdiff_t>(pos_), input_.end());
    pos_ = input_.size();
    return out;
  }

 private:
  ByteView input_;
  std::size_t pos_ = 0;
};

void put_uint(Bytes& out, std::uint64_t value, std::size_t width) {
  for (std::size_t i = width; i > 0; --i) out.push_back(static_cast<std::uint8_t>(value >> (8 * (i - 1))));
}
void put(Bytes& out, ByteView bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

constexpr std::size_t kSignatureSize = 1 + 32 + 32 + 1;
constexpr std::size_t kTransferSize = 133;
// Governance header: module[32] | action u8 | chain u16 | new_index u32 | n u8.
constexpr std::size_t kUpgradeHeaderSize = 32 + 1 + 2 + 4 + 1;
constexpr std::uint8_t kActionGuardianSetUpgrade = 2;

Hash32 core_module() {
  // "Core" right-aligned in 32 bytes (ethereum/contracts/Governance.sol: module == 0x00..436f7265).
  Hash32 module{};
  module[28] = 'C';
  module[29] = 'o';
  module[30] = 'r';
  module[31] = 'e';
  return module;
}

}  // namespace

Decoded<Vaa> decode_vaa(ByteView input) {
  Reader in(input);
  if (!in.need(6)) return fail(DecodeErrc::kInputTooShort, 0, {}, "truncated header");
  Vaa vaa;
  vaa.version = static_cast<std::uint8_t>(in.uint(1));
  vaa.guardian_set_index = static_cast<std::uint32_t>(in.uint(4));
  const auto count = static_cast<std::size_t>(in.uint(1));
  vaa.signatures.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    if (!in.need(kSignatureSize)) {
      return fail(DecodeErrc::kInputTooShort, in.pos(), {}, "truncated signature " + std::to_string(k));
    }
    VaaSignature sig;
    sig.guardian_index = static_cast<std::uint8_t>(in.uint(1));
    sig.r = in.word();
    sig.s = in.word();
    sig.v = static_cast<std::uint8_t>(in.uint(1));
    vaa.signatures.push_back(sig);
  }
  const std::size_t body_start = in.pos();
  if (!in.need(kVaaBodyHeaderSize)) return fail(DecodeErrc::kInputTooShort, body_start, {}, "truncated body");
  vaa.body.timestamp = static_cast<std::uint32_t>(in.uint(4));
  vaa.body.nonce = static_cast<std::uint32_t>(in.uint(4));
  vaa.body.emitter_chain = static_cast<std::uint16_t>(in.uint(2));
  vaa.body.emitter_address = in.word();
  vaa.body.sequence = in.uint(8);
  vaa.body.consistency_level = static_cast<std::uint8_t>(in.uint(1));
  vaa.body.payload = in.rest();
  vaa.body_bytes.assign(input.begin() + static_cast<std::ptrdiff_t>(body_start), input.end());
  // Double hash: the guardians sign keccak256(body) through a second keccak256 (Messages.sol parseVM).
  const Hash32 once = keccak256(vaa.body_bytes);
  vaa.digest = keccak256(ByteView(once.data(), once.size()));
  return vaa;
}

Bytes encode_vaa_body(const VaaBody& body) {
  Bytes out;
  out.reserve(kVaaBodyHeaderSize + body.payload.size());
  put_uint(out, body.timestamp, 4);
  put_uint(out, body.nonce, 4);
  put_uint(out, body.emitter_chain, 2);
  put(out, body.emitter_address);
  put_uint(out, body.sequence, 8);
  put_uint(out, body.consistency_level, 1);
  put(out, body.payload);
  return out;
}

Hash32 vaa_body_digest(const VaaBody& body) {
  const Hash32 once = keccak256(encode_vaa_body(body));
  return keccak256(ByteView(once.data(), once.size()));
}

Bytes encode_vaa(const Vaa& vaa) {
  Bytes out;
  const std::size_t count = std::min<std::size_t>(vaa.signatures.size(), 255);
  put_uint(out, vaa.version, 1);
  put_uint(out, vaa.guardian_set_index, 4);
  put_uint(out, count, 1);
  for (std::size_t k = 0; k < count; ++k) {
    const auto& sig = vaa.signatures[k];
    put_uint(out, sig.guardian_index, 1);
    put(out, sig.r);
    put(out, sig.s);
    put_uint(out, sig.v, 1);
  }
  put(out, encode_vaa_body(vaa.body));
  return out;
}

Decoded<TokenTransfer> decode_token_transfer(ByteView payload) {
  Reader in(payload);
  if (!in.need(1)) return fail(DecodeErrc::kInputTooShort, 0, {}, "empty payload");
  TokenTransfer t;
  t.payload_type = static_cast<std::uint8_t>(in.uint(1));
  if (t.payload_type != 1 && t.payload_type != 3) {
    return fail(DecodeErrc::kInvalidField, 0, {}, "payload type " + std::to_string(t.payload_type) + " is not a transfer (1 or 3)");
  }
  if (!in.need(kTransferSize - 1)) return fail(DecodeErrc::kInputTooShort, payload.size(), {}, "truncated transfer");
  const Hash32 amount = in.word();
  t.amount = u256_from_be(amount);
  t.token_address = in.word();
  t.token_chain = static_cast<std::uint16_t>(in.uint(2));
  t.to = in.word();
  t.to_chain = static_cast<std::uint16_t>(in.uint(2));
  const Hash32 last = in.word();
  if (t.payload_type == 1) {
    if (in.left() != 0) return fail(DecodeErrc::kTrailingBytes, kTransferSize, {}, "a transfer is exactly 133 bytes");
    t.fee = u256_from_be(last);
  } else {
    t.from_address = last;
    t.payload = in.rest();
  }
  return t;
}

Bytes encode_token_transfer(const TokenTransfer& t) {
  Bytes out;
  put_uint(out, t.payload_type, 1);
  put(out, u256_to_be32(t.amount));
  put(out, t.token_address);
  put_uint(out, t.token_chain, 2);
  put(out, t.to);
  put_uint(out, t.to_chain, 2);
  if (t.payload_type == 3) {
    put(out, t.from_address.value_or(Hash32{}));
    put(out, t.payload);
  } else {
    put(out, u256_to_be32(t.fee));
  }
  return out;
}

Decoded<GuardianSetUpgrade> decode_guardian_set_upgrade(ByteView payload) {
  Reader in(payload);
  if (!in.need(kUpgradeHeaderSize)) return fail(DecodeErrc::kInputTooShort, payload.size(), {}, "truncated governance header");
  if (in.word() != core_module()) return fail(DecodeErrc::kInvalidField, 0, {}, "module is not \"Core\"");
  const auto action = in.uint(1);
  if (action != kActionGuardianSetUpgrade) {
    return fail(DecodeErrc::kInvalidField, 32, {}, "action " + std::to_string(action) + " is not a guardian set upgrade (2)");
  }
  GuardianSetUpgrade up;
  up.chain = static_cast<std::uint16_t>(in.uint(2));
  up.new_index = static_cast<std::uint32_t>(in.uint(4));
  const auto count = static_cast<std::size_t>(in.uint(1));
  if (count == 0) return fail(DecodeErrc::kInvalidField, kUpgradeHeaderSize - 1, {}, "no keys");
  if (in.left() < count * 20) return fail(DecodeErrc::kInputTooShort, payload.size(), {}, "truncated key list");
  if (in.left() > count * 20) return fail(DecodeErrc::kTrailingBytes, kUpgradeHeaderSize + count * 20, {}, "bytes after the keys");
  up.keys.reserve(count);
  for (std::size_t i = 0; i < count; ++i) up.keys.push_back(in.address());
  return up;
}

Bytes encode_guardian_set_upgrade(const GuardianSetUpgrade& up) {
  Bytes out;
  put(out, core_module());
  put_uint(out, kActionGuardianSetUpgrade, 1);
  put_uint(out, up.chain, 2);
  put_uint(out, up.new_index, 4);
  const std::size_t count = std::min<std::size_t>(up.keys.size(), 255);
  put_uint(out, count, 1);
  for (std::size_t i = 0; i < count; ++i) put(out, up.keys[i].view());
  return out;
}

nlohmann::json to_json(const VaaSignature& sig) {
  return {{"guardian_index", sig.guardian_index}, {"r", to_hex(sig.r)}, {"s", to_hex(sig.s)}, {"v", sig.v}};
}

nlohmann::json to_json(const VaaBody& body) {
  return {{"timestamp", body.timestamp},
          {"nonce", body.nonce},
          {"emitter_chain", body.emitter_chain},
          {"emitter_address", to_hex(body.emitter_address)},
          {"sequence", std::to_string(body.sequence)},
          {"consistency_level", body.consistency_level},
          {"payload", to_hex(body.payload)}};
}

nlohmann::json to_json(const Vaa& vaa) {
  nlohmann::json sigs = nlohmann::json::array();
  for (const auto& sig : vaa.signatures) sigs.push_back(to_json(sig));
  return {{"version", vaa.version},
          {"guardian_set_index", vaa.guardian_set_index},
          {"signatures", std::move(sigs)},
          {"body", to_json(vaa.body)},
          {"digest", to_hex(vaa.digest)}};
}

nlohmann::json to_json(const TokenTransfer& t) {
  nlohmann::json out = {{"type", t.payload_type == 3 ? "token-transfer-with-payload" : "token-transfer"},
                        {"payload_type", t.payload_type},
                        {"amount", to_decimal(t.amount)},
                        {"token_address", to_hex(t.token_address)},
                        {"token_chain", t.token_chain},
                        {"to", to_hex(t.to)},
                        {"to_chain", t.to_chain}};
  if (t.payload_type == 3) {
    out["from_address"] = to_hex(t.from_address.value_or(Hash32{}));
    out["payload"] = to_hex(t.payload);
  } else {
    out["fee"] = to_decimal(t.fee);
  }
  return out;
}

nlohmann::json to_json(const GuardianSetUpgrade& up) {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& key : up.keys) keys.push_back(to_checksum(key));
  return {{"type", "guardian-set-upgrade"}, {"chain", up.chain}, {"new_index", up.new_index}, {"keys", std::move(keys)}};
}

nlohmann::json decoded_payload_json(const VaaBody& body) {
  if (auto transfer = decode_token_transfer(body.payload)) return to_json(*transfer);
  if (auto upgrade = decode_guardian_set_upgrade(body.payload)) return to_json(*upgrade);
  return {{"type", "unknown"}, {"hex", to_hex(body.payload)}};
}

}  // namespace txguard::codec
