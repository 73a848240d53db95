// Where the repository is, for tests that read its files. The paths are compiled into test_main.cpp
// alone (not into every test source), so a test object does not depend on where the checkout lives.
#pragma once

#include <string>

namespace txguard::test {

/// The repository's root directory (no trailing slash).
const std::string& source_dir();
/// source_dir() + "/fixtures".
const std::string& fixtures_dir();

}  // namespace txguard::test
