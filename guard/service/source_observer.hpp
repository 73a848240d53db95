// Source-chain confirmation of a bridge deposit (issue 6, "The release"): before txguard co-signs a
// release, its own JSON-RPC endpoints for the source chain must show the deposit transaction's
// receipt with the bridge contract's deposit event at the given log index, in a canonical block, with
// enough confirmations (or at or below the finalized block). With several endpoints they must all
// answer and agree: an unreachable, erroring, misconfigured or disagreeing endpoint means the release
// is held, never allowed on a partial view.
//
// The Observation is what the decision log records (to_json) and what replay reads back
// (observation_from_json) without any RPC.
//
// Thread safety: SourceObserver::observe may be called from any number of threads at once (the HTTP
// clients are thread-safe; the observer holds no other mutable state). Everything else is plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/event_log.hpp"

namespace txguard::http {
class Client;
}

namespace txguard::service {

struct DepositQuery {
  std::uint64_t chain_id = 0;
  codec::Hash32 tx_hash{};
  /// The log's index in its block (the receipt's logIndex, as JSON-RPC reports it).
  std::uint64_t log_index = 0;
  /// The bridge contract that must have emitted the log.
  codec::Address contract;
  codec::EventSpec event;
  /// Blocks on top of and including the deposit's block (head - blockNumber + 1). 0 counts as 1: a
  /// receipt is at least in one block.
  std::uint64_t confirmations = 1;
  /// Require the block to be at or below the "finalized" block instead of a confirmation count.
  bool finalized = false;
};

enum class ObservationStatus {
  kConfirmed,
  /// Not enough confirmations yet, or not yet finalized, or the receipt's block is not (or no longer)
  /// the canonical block at its height on some endpoint ("reorg").
  kUnconfirmed,
  /// Every endpoint agrees: no receipt, or the tx reverted, or no log at log_index, or that log is not
  /// the event from the contract (including a log with the event's topic0 that does not decode).
  kNotFound,
  /// An endpoint could not be reached, answered an error, or answered something malformed; or no
  /// endpoint is configured for the chain.
  kUnreachable,
  /// Endpoints answered differently (receipt present or not, block, status, the matched log), or an
  /// endpoint is on another chain (misconfigured).
  kDisagree,
};

/// "confirmed", "unconfirmed", "not-found", "unreachable", "disagree".
std::string to_string(ObservationStatus status);
/// The reason code of a status: "deposit-confirmed", "deposit-unconfirmed", "deposit-not-found",
/// "source-unreachable", "source-disagree".
std::string reason_of(ObservationStatus status);

struct Observation {
  ObservationStatus status = ObservationStatus::kUnreachable;
  /// reason_of(status).
  std::string reason;
  /// One line for humans: what was seen, per endpoint where it matters.
  std::string detail;
  /// The decoded event fields ({name: value} as codec::decode_event_log gives), null when no matching
  /// log was observed.
  nlohmann::json event;
  /// The observed receipt trimmed to what matters: {"transactionHash", "blockHash", "blockNumber",
  /// "status", "from", "to", "log": {"address", "topics", "data", "logIndex"} or null}. Hashes and
  /// data are lower-case 0x hex, addresses EIP-55, quantities canonical 0x hex (JSON-RPC form), "to"
  /// null for a contract creation. null when no receipt was observed (or endpoints disagree on it).
  nlohmann::json receipt;
  /// The receipt's block (0 and all-zero when none).
  std::uint64_t block_number = 0;
  codec::Hash32 block_hash{};
  /// The minimum over endpoints of head - block_number + 1 (0 when none or when a head is behind).
  std::uint64_t confirmations = 0;
  /// The minimum over endpoints of the "finalized" block number, when the query asked for it.
  std::optional<std::uint64_t> finalized_block;
  /// One entry per configured endpoint: {"index": i, ...its own answer summary} or {"index": i,
  /// "error": "..."}. Never the endpoint's URL (its path, user info or query may hold an API key).
  nlohmann::json endpoints = nlohmann::json::array();

  bool operator==(const Observation&) const = default;
};

/// The JSON the decision log records: {"status", "reason", "detail", "event", "receipt",
/// "block_number", "block_hash", "confirmations", "finalized_block" (number or null), "endpoints"}.
nlohmann::json to_json(const Observation& observation);
/// Reads to_json's form back, strictly: every member present with its type, no other member, a known
/// status whose reason matches, a 32-byte block hash. observation_from_json(to_json(o)) == o and
/// to_json(observation_from_json(j)) == j. Errors name the member. Never throws.
std::expected<Observation, std::string> observation_from_json(const nlohmann::json& json);

class SourceObserver {
 public:
  /// endpoints_by_chain: chain id -> JSON-RPC URLs (http:// or https://, as http::Client accepts).
  /// `timeout` bounds each RPC call. Fails when a URL is invalid; the message names the chain and the
  /// endpoint's index only, never its URL, host, path, user info or query.
  static std::expected<std::unique_ptr<SourceObserver>, std::string> create(
      std::map<std::uint64_t, std::vector<std::string>> endpoints_by_chain, std::chrono::milliseconds timeout);

  /// Asks every endpoint of query.chain_id (concurrently) and combines their answers:
  ///   - no endpoint configured, or any endpoint unreachable / erroring / malformed: kUnreachable;
  ///   - an endpoint whose eth_chainId is not the chain: kDisagree (misconfigured endpoint);
  ///   - endpoints differing on the receipt (present, block hash, block number, status, from, to, the
  ///     log at log_index): kDisagree;
  ///   - no receipt anywhere: kNotFound;
  ///   - the receipt's block not canonical on some endpoint (eth_getBlockByNumber(n).hash differs, or
  ///     no block there): kUnconfirmed, detail starting "reorg" (checked before the receipt's content:
  ///     a receipt of a reorged block says nothing yet);
  ///   - a reverted transaction, no log at log_index, or a log that is not the event from the
  ///     contract (other address, other topic0, or not decodable as the event): kNotFound;
  ///   - fewer confirmations than asked (the minimum over endpoints), or above the finalized block
  ///     (the minimum over endpoints) when query.finalized: kUnconfirmed; else kConfirmed.
  /// Every answer is parsed strictly (JSON-RPC 2.0 envelope with our id, canonical hex quantities,
  /// 32-byte hashes, 20-byte addresses); anything else counts as that endpoint failing. Each endpoint
  /// makes up to five calls in sequence, each bounded by the timeout given to create(). Never throws.
  Observation observe(const DepositQuery& query) const;

  ~SourceObserver();
  SourceObserver(const SourceObserver&) = delete;
  SourceObserver& operator=(const SourceObserver&) = delete;

 private:
  struct Endpoint;
  explicit SourceObserver(std::map<std::uint64_t, std::vector<std::unique_ptr<Endpoint>>> endpoints);
  std::map<std::uint64_t, std::vector<std::unique_ptr<Endpoint>>> endpoints_;
};

}  // namespace txguard::service
