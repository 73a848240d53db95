// Strict readers for JSON request fields, shared by the codec's JSON front ends. Each reports the
// JSON path of a bad value. None throws.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::codec {

/// A non-negative integer: a JSON unsigned integer, or a decimal or 0x-hex string. JSON floats and
/// negative numbers are rejected (a float cannot carry an exact 256-bit amount).
Decoded<U256> json_u256(const nlohmann::json& value, const std::string& path);
/// An address string ("0x" + 40 hex digits, EIP-55 enforced when mixed-case).
Decoded<Address> json_address(const nlohmann::json& value, const std::string& path);
/// A hex byte string ("0x..."; the prefix is required so a decimal string is never read as hex).
Decoded<Bytes> json_bytes(const nlohmann::json& value, const std::string& path);
/// Exactly 32 bytes of hex.
Decoded<Hash32> json_hash32(const nlohmann::json& value, const std::string& path);

/// Parses JSON text strictly: malformed JSON is kInvalidJson with the byte offset; a duplicate object
/// key anywhere is kInvalidJson at the key's path (nlohmann keeps the last of two equal keys, another
/// parser may keep the first, so such a document means two things); nesting deeper than `max_depth`
/// is kTooDeep. Checked on the text before any DOM is built. With `allow_comments`, // and /* */
/// comments are skipped (documents people write: policies); never for data from the network.
Decoded<nlohmann::json> parse_json_strict(std::string_view text, std::size_t max_depth = 128,
                                          bool allow_comments = false);

/// "$.a" + key -> "$.a.key"; index -> "$.a[3]".
std::string json_path(const std::string& parent, std::string_view key);
std::string json_path(const std::string& parent, std::size_t index);

}  // namespace txguard::codec
