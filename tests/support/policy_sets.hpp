// A service policy set built from a policy document held in memory (no list files, no prices file), for
// the tests that start a Pipeline.
#pragma once

#include <doctest/doctest.h>

#include <expected>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "guard/service/pipeline.hpp"

namespace txguard::test {

inline std::shared_ptr<service::PolicySet> policy_set_of(const nlohmann::json& doc) {
  auto loaded = policy::load_policy(doc.dump(), [](const std::string& p) -> std::expected<std::string, std::string> {
    return std::unexpected("no file " + p);
  });
  REQUIRE(loaded.has_value());
  auto set = std::make_shared<service::PolicySet>();
  set->policy = std::move(*loaded);
  return set;
}

}  // namespace txguard::test
