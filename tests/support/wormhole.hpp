// The Wormhole VAA vectors (fixtures/wormhole/wormhole-vaa-vectors.json), shared by the VAA decoder
// and the validator set tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "policy/codec/bytes.hpp"
#include "tests/support/fixtures.hpp"

namespace txguard::test {

/// The whole vectors document, read once.
inline const nlohmann::json& wormhole_vectors() {
  static const nlohmann::json doc = load_fixture("wormhole/wormhole-vaa-vectors.json");
  return doc;
}

/// The vector with this id; fails the test case when there is none.
inline const nlohmann::json& wormhole_vector(std::string_view id) {
  for (const auto& v : wormhole_vectors()["vectors"]) {
    if (v["id"] == id) return v;
  }
  FAIL("no vector " << id);
  static const nlohmann::json none;
  return none;
}

/// A vector's VAA bytes.
inline codec::Bytes vaa_bytes(const nlohmann::json& v) { return codec::from_hex(v["vaa_hex"].get<std::string>()).value(); }

}  // namespace txguard::test
