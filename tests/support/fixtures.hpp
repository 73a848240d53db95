// Reading test fixtures: files under fixtures/, found through txguard::test::fixtures_dir()
// (tests/support/paths.hpp), never through a path outside the repository. A missing fixture fails the test case.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>
#include "paths.hpp"

namespace txguard::test {

/// The bytes of fixtures/<relative>.
inline std::string read_fixture(const std::string& relative) {
  std::ifstream in(txguard::test::fixtures_dir() + "/" + relative, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing fixture " << relative);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// fixtures/<relative> parsed as JSON.
inline nlohmann::json load_fixture(const std::string& relative) { return nlohmann::json::parse(read_fixture(relative)); }

}  // namespace txguard::test
