// Fuzz target for what the service reads off the wire before judging it (guard/service/requests.hpp)
// and for its configuration parser (guard/service/config.hpp).
//
// Input: one selector byte, then the text. The selector picks the reader: 0 a Safe co-sign body,
// 1 an /v1/evaluate body, 2 a JSON-RPC transaction object, 3 eth_signTypedData_v4 data, 4 a
// personal_sign message (as a JSON value), 5 a configuration file.
// Invariants, whatever the input:
//   - no reader throws or crashes; a refusal is an HttpError with a 4xx status and a message;
//   - an accepted Safe body signs exactly safe_tx_hash of what it says (recomputed here) and claims
//     (its chain, its Safe, its nonce), so the hash and the once-only key cannot disagree;
//   - an accepted JSON-RPC transaction is from the guard and on the endpoint's chain;
//   - an accepted configuration has clients with names and no two clients share a token digest.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "guard/service/config.hpp"
#include "guard/service/requests.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/u256.hpp"
#include "policy/document.hpp"

using namespace txguard;

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

const codec::Address kGuard = *codec::parse_address("0x90F79bf6EB2c4f870365E785982E1f101E93b906");

const policy::Policy& demo_policy() {
  static const policy::Policy p = [] {
    const std::string text = R"({"txguard_policy": 1, "name": "fuzz",
      "chains": {"ethereum": {"id": 1}},
      "assets": {"ETH": {"chain": "ethereum", "native": true, "decimals": 18}},
      "prices": {"fixed": {"ETH": "3000"}},
      "wallets": {"hot": {"chain": "ethereum", "address": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4",
                          "kind": "safe", "safe_version": "1.4.1"},
                  "guard": {"chain": "ethereum", "address": "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
                            "kind": "account"}},
      "rules": [{"id": "all", "match": {"leg": "transfer"}, "effect": "allow"}]})";
    auto loaded = policy::load_policy(text, [](const std::string&) -> std::expected<std::string, std::string> {
      return std::unexpected(std::string("no files"));
    });
    require(loaded.has_value());
    return std::move(*loaded);
  }();
  return p;
}

void refused_well(const service::HttpError& e) {
  require(e.status >= 400 && e.status < 500);
  require(!e.message.empty());
  require(!e.code.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int selector = data[0] % 6;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const policy::Policy& policy = demo_policy();
  switch (selector) {
    case 0: {
      auto r = service::decode_safe_request(text, policy, "fuzz");
      if (!r) return refused_well(r.error()), 0;
      {
        nlohmann::json body = r->payload;
        if (!body.contains("safeVersion")) body["safeVersion"] = "1.4.1";
        auto parsed = codec::parse_safe_tx_request(body);
        require(parsed.has_value());
        require(codec::safe_tx_hash(parsed->tx, parsed->domain) == r->digest);
        require(r->claim.has_value());
        require(r->claim->nonce == codec::to_decimal(parsed->tx.nonce));
        require(r->claim->chain == codec::to_decimal(parsed->domain.chain_id));
        require(r->claim->account == codec::to_hex(parsed->domain.safe.view()));
      }
      return 0;
    }
    case 1: {
      auto r = service::decode_evaluation(text, policy, "fuzz", kGuard);
      if (!r) refused_well(r.error());
      return 0;
    }
    case 2: {
      auto json = codec::parse_json_strict(text, 64);
      if (!json) return 0;
      auto txn = service::transaction_from_rpc(*json, kGuard, 1);
      if (!txn) return refused_well(txn.error()), 0;
      require(txn->from == kGuard);
      require(txn->chain_id == 1u);
      auto request = service::transaction_request(*txn, policy, "fuzz", kGuard);
      if (request) require(request->claim.has_value() && request->claim->nonce == std::to_string(txn->nonce));
      return 0;
    }
    case 3:
    case 4: {
      auto json = codec::parse_json_strict(text, 64);
      if (!json) return 0;
      auto r = selector == 3 ? service::typed_data_request(*json, policy, "fuzz", kGuard, 1)
                             : service::message_request(*json, policy, "fuzz", kGuard, 1);
      if (!r) refused_well(r.error());
      return 0;
    }
    default: {
      auto config = service::parse_config(text, "/etc/txguard");
      if (!config) {
        require(!config.error().empty());
        for (const auto& problem : config.error()) require(problem.starts_with("$"));
        return 0;
      }
      std::set<codec::Hash32> digests;
      for (const auto& c : config->clients) {
        require(!c.name.empty());
        require(digests.insert(c.token_sha256).second);
      }
      return 0;
    }
  }
}
