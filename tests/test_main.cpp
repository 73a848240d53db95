#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "support/paths.hpp"

namespace txguard::test {

const std::string& source_dir() {
  static const std::string dir = TXGUARD_SOURCE_DIR;
  return dir;
}

const std::string& fixtures_dir() {
  static const std::string dir = TXGUARD_FIXTURES_DIR;
  return dir;
}

}  // namespace txguard::test
