// Key material stays out of core dumps, swap and the environment (signers/secure_memory.hpp): checked
// against what the kernel reports for this process (/proc/self/smaps, prctl, getrlimit).
#include <doctest/doctest.h>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "policy/codec/secp256k1.hpp"
#include "signers/keystore.hpp"
#include "signers/secure_memory.hpp"

using namespace txguard;

namespace {

// Mappings whose VmFlags say both "lo" (locked) and "dd" (left out of core dumps).
int locked_undumped_mappings() {
  std::ifstream in("/proc/self/smaps");
  REQUIRE(in.good());
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    if (!line.starts_with("VmFlags:")) continue;
    std::istringstream flags(line.substr(8));
    bool lo = false, dd = false;
    std::string f;
    while (flags >> f) {
      lo = lo || f == "lo";
      dd = dd || f == "dd";
    }
    if (lo && dd) ++count;
  }
  return count;
}

}  // namespace

TEST_SUITE("secure memory") {
  TEST_CASE("a hardened process writes no core file and cannot be dumped or traced by its user") {
    // In a child: the test process itself stays as it was.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      const rlimit some{1 << 20, RLIM_INFINITY};
      setrlimit(RLIMIT_CORE, &some);
      if (!signers::harden_process()) _exit(2);
      rlimit now{};
      if (getrlimit(RLIMIT_CORE, &now) != 0 || now.rlim_cur != 0 || now.rlim_max != 0) _exit(3);
      if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) _exit(4);
      _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  TEST_CASE("a keystore signer keeps its key in a locked page left out of core dumps, wiped when it goes") {
    const int before = locked_undumped_mappings();
    codec::Hash32 bytes{};
    bytes[31] = 7;
    {
      auto signer = signers::KeystoreSigner::from_key(codec::SecretKey(bytes));
      REQUIRE(signer.has_value());
      CHECK(locked_undumped_mappings() == before + 1);
      // Moving the signer moves the page, not the key's bytes.
      signers::KeystoreSigner moved = std::move(*signer);
      CHECK(locked_undumped_mappings() == before + 1);
      codec::Hash32 digest{};
      digest[0] = 1;
      CHECK(moved.sign_digest(digest).has_value());
      CHECK_FALSE(signer->sign_digest(digest).has_value());  // the moved-from signer holds nothing
    }
    CHECK(locked_undumped_mappings() == before);
  }

  TEST_CASE("a passphrase taken from the environment is removed and its bytes overwritten in place") {
    static char entry[] = "TXGUARD_TEST_SECRET=correct horse";
    REQUIRE(putenv(entry) == 0);
    auto taken = signers::take_environment_secret("TXGUARD_TEST_SECRET");
    REQUIRE(taken.has_value());
    CHECK(*taken == "correct horse");
    CHECK(std::getenv("TXGUARD_TEST_SECRET") == nullptr);
    const std::string value_bytes(entry + std::strlen("TXGUARD_TEST_SECRET="), std::strlen("correct horse"));
    CHECK(value_bytes == std::string(std::strlen("correct horse"), '\0'));
    // Read once: a second read finds nothing.
    const auto again = signers::take_environment_secret("TXGUARD_TEST_SECRET");
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error() == "TXGUARD_TEST_SECRET is not set");
  }
}
