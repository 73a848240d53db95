// The request table beside the decision log (guard/store/decision_log.hpp): the database itself
// refuses a second live row for one once-only claim, whatever the code above it does.
#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_database.hpp"

#include "guard/store/decision_log.hpp"
#include "guard/store/schema.hpp"

using namespace txguard;

namespace {

store::RequestRow live_row(const std::string& id, std::uint8_t key_byte, const store::Claim& claim) {
  store::RequestRow row;
  row.decision_id = id;
  row.request_key[0] = key_byte;
  row.kind = "safe";
  row.requester = "ops";
  row.at_ms = 1;
  row.status = store::RequestStatus::kAllowed;
  row.payload = "{}";
  row.claim = claim;
  return row;
}

}  // namespace

TEST_CASE("the claim index refuses a second live row at one (chain, account, nonce) instead of replacing the first") {
  test::TempDir dir("txguard-claims");
  const auto target = test::test_database(dir, "log.db");
  auto db = store::open_database(target.name, target.options());
  REQUIRE(db.has_value());
  {
    store::DecisionLogWriter w(**db);
    REQUIRE(store::migrate(**db, 1).has_value());
    const store::Claim claim{"1", "0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcf4", "7"};
    REQUIRE(w.put(live_row("a-1", 1, claim)).has_value());
    const auto second = w.put(live_row("a-2", 2, claim));
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().code == policy::StateErrc::kDuplicate);
    const auto holder = w.find_claim(claim);
    REQUIRE(holder.has_value());
    REQUIRE(holder->has_value());
    CHECK((*holder)->decision_id == "a-1");
    // The first row itself can still be updated (status, approvals), and a denied row takes no claim.
    store::RequestRow first = live_row("a-1", 1, claim);
    first.status = store::RequestStatus::kApproved;
    CHECK(w.put(first).has_value());
    store::RequestRow denied = live_row("a-3", 3, claim);
    denied.status = store::RequestStatus::kRejected;
    CHECK(w.put(denied).has_value());
    // The same claim on another chain is another claim; a Safe 1.1.1 claim on every chain ("*") too.
    CHECK(w.put(live_row("a-4", 4, store::Claim{"2", claim.account, claim.nonce})).has_value());
    CHECK(w.put(live_row("a-5", 5, store::Claim{std::string(store::kAnyChain), claim.account, claim.nonce})).has_value());
  }
}
