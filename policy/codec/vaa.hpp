// Wormhole VAA v1 ("verified action approval") and the payloads txguard reads from them: token bridge
// transfers (payload types 1 and 3) and the core bridge's guardian set upgrade (governance action 2).
//
// Layout (all integers big-endian), from wormhole-foundation/wormhole whitepapers/0001_generic_message_passing.md
// and ethereum/contracts/Messages.sol parseVM:
//   version u8 | guardian_set_index u32 | n u8 | n x (guardian_index u8, r[32], s[32], v u8) | body
//   body = timestamp u32 | nonce u32 | emitter_chain u16 | emitter_address[32] | sequence u64 |
//          consistency_level u8 | payload (the rest)
// The guardians sign digest = keccak256(keccak256(body)).
//
// The decoders only parse: they check the layout, never a signature, a guardian set or a quorum
// (policy/validator_sets.hpp does that). In particular decode_vaa accepts any version byte and parses
// the rest with the v1 layout, returning the version as read; the verifier rejects a version other
// than 1 with the reason "bad-version" (the version byte is not covered by the signatures, so it must
// be checked there, not trusted here).
//
// Pure, no I/O, thread-safe; decoders never throw on bad input and report the byte offset of the
// problem (an offset into the ByteView they were given).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/error.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::codec {

struct VaaSignature {
  std::uint8_t guardian_index = 0;
  Hash32 r{};
  Hash32 s{};
  std::uint8_t v = 0;  // the recovery id as written: 0 or 1 in a valid VAA (no +27)
  bool operator==(const VaaSignature&) const = default;
};

struct VaaBody {
  std::uint32_t timestamp = 0;  // unix seconds of the observed message
  std::uint32_t nonce = 0;
  std::uint16_t emitter_chain = 0;
  Hash32 emitter_address{};
  std::uint64_t sequence = 0;
  std::uint8_t consistency_level = 0;
  Bytes payload;
  bool operator==(const VaaBody&) const = default;
};

struct Vaa {
  std::uint8_t version = 1;
  std::uint32_t guardian_set_index = 0;
  std::vector<VaaSignature> signatures;
  VaaBody body;
  Bytes body_bytes;  // the body exactly as it appeared in the input (what the digest covers)
  Hash32 digest{};   // keccak256(keccak256(body_bytes)): what each guardian signed, and the replay key
};

/// The fixed part of the body: 4 + 4 + 2 + 32 + 8 + 1 bytes, before the payload.
inline constexpr std::size_t kVaaBodyHeaderSize = 51;

/// Parses a VAA. Errors (offset = where the missing item starts):
///   kInputTooShort  "truncated header" (fewer than 6 bytes), "truncated signature K" (0-based K),
///                   "truncated body" (fewer than 51 bytes after the last signature).
/// Any payload length (including empty) is accepted. Never checks signatures.
Decoded<Vaa> decode_vaa(ByteView input);

/// The body's wire form.
Bytes encode_vaa_body(const VaaBody& body);
/// keccak256(keccak256(encode_vaa_body(body))).
Hash32 vaa_body_digest(const VaaBody& body);
/// The VAA's wire form from version, guardian_set_index, signatures and `body` (body_bytes and digest
/// are ignored). Precondition: at most 255 signatures (more cannot be encoded; they are cut at 255).
Bytes encode_vaa(const Vaa& vaa);

/// Token bridge Transfer (type 1) and TransferWithPayload (type 3), wormhole-foundation/wormhole
/// whitepapers/0003_token_bridge.md:
///   type 1: type u8 | amount u256 | token_address[32] | token_chain u16 | to[32] | to_chain u16 | fee u256
///           (exactly 133 bytes)
///   type 3: type u8 | amount u256 | token_address[32] | token_chain u16 | to[32] | to_chain u16 |
///           from_address[32] | payload (at least 133 bytes)
struct TokenTransfer {
  std::uint8_t payload_type = 1;
  U256 amount;  // normalised to at most 8 decimals by the token bridge
  Hash32 token_address{};
  std::uint16_t token_chain = 0;
  Hash32 to{};
  std::uint16_t to_chain = 0;
  U256 fee;                              // type 1 only (zero for type 3)
  std::optional<Hash32> from_address;    // type 3 only
  Bytes payload;                         // type 3 only
};

/// Fails with kInvalidField (offset 0) for a type other than 1 or 3, kInputTooShort for a short payload,
/// kTrailingBytes (offset 133) for a type 1 payload longer than 133 bytes.
Decoded<TokenTransfer> decode_token_transfer(ByteView payload);
Bytes encode_token_transfer(const TokenTransfer& transfer);

/// Core bridge governance: module "Core" (left-padded with zeros to 32 bytes), action 2 = guardian set
/// upgrade: module[32] | action u8 | chain u16 | new_index u32 | n u8 | n x key[20].
struct GuardianSetUpgrade {
  std::uint16_t chain = 0;  // 0 = every chain
  std::uint32_t new_index = 0;
  std::vector<Address> keys;
};

/// Fails with kInvalidField (offset 0 = module, 32 = action) for another module or action,
/// kInvalidField at the count byte for zero keys, kInputTooShort / kTrailingBytes unless the length is
/// exactly 40 + 20 n. Does not check for zero or duplicate keys (the validator set code does).
Decoded<GuardianSetUpgrade> decode_guardian_set_upgrade(ByteView payload);
/// Precondition: at most 255 keys (cut at 255 otherwise).
Bytes encode_guardian_set_upgrade(const GuardianSetUpgrade& upgrade);

/// JSON forms: u64 and u256 numbers as decimal strings, u32 and smaller as numbers, 32-byte values and
/// byte strings as 0x hex, addresses EIP-55.
nlohmann::json to_json(const VaaSignature& signature);
nlohmann::json to_json(const VaaBody& body);
nlohmann::json to_json(const Vaa& vaa);
nlohmann::json to_json(const TokenTransfer& transfer);
nlohmann::json to_json(const GuardianSetUpgrade& upgrade);

/// The body's payload decoded as far as txguard understands it: a token transfer ({"type":
/// "token-transfer" or "token-transfer-with-payload", ...}), a guardian set upgrade ({"type":
/// "guardian-set-upgrade", ...}), or {"type":"unknown","hex":"0x..."}. The emitter is not consulted:
/// the shape alone decides, so this is a description, not an authorisation.
nlohmann::json decoded_payload_json(const VaaBody& body);

}  // namespace txguard::codec
