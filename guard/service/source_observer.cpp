// Source-chain confirmation over JSON-RPC (ethereum.org/en/developers/docs/apis/json-rpc: hex
// encoding of QUANTITY and DATA; eth_getTransactionReceipt, eth_getBlockByNumber with the "finalized"
// tag of the post-merge execution API). Why each check:
//   - eth_chainId on every call: an endpoint pointed at another chain (a testnet, a fork) would confirm
//     deposits that never happened on the source chain.
//   - eth_getBlockByNumber(receipt.blockNumber).hash == receipt.blockHash: a node can keep serving the
//     receipt of a transaction whose block was reorged out until it reindexes; only a receipt in the
//     canonical block counts.
//   - All endpoints must answer and agree: a single lying or stale endpoint must not be enough to
//     release funds, and an unreachable one must not silently reduce the quorum to the others.
#include "guard/service/source_observer.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <future>
#include <iterator>
#include <utility>

#include "guard/http/client.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::service {
namespace {

using nlohmann::json;
template <class T>
using Result = std::expected<T, std::string>;

// scheme://host[:port] of a URL: no user info, path, query or fragment, which may carry API keys
// (Infura and Alchemy put the key in the path).
std::string redact(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "<invalid URL>";
  const std::string rest = url.substr(scheme_end + 3);
  std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  return url.substr(0, scheme_end) + "://" + authority;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// An RPC error message, bounded and printable, for the detail and the decision log.
std::string printable(const std::string& text, std::size_t limit = 200) {
  std::string out;
  for (char c : text) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// QUANTITY: "0x" + the shortest hex digits ("0x0" for zero), at most 64 bits here.
Result<std::uint64_t> quantity(const json& j, const char* what) {
  const auto bad = [&] { return std::unexpected(std::string(what) + " is not a canonical hex quantity"); };
  if (!j.is_string()) return bad();
  const auto& s = j.get_ref<const std::string&>();
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' || s[1] != 'x') return bad();
  if (s.size() > 3 && s[2] == '0') return bad();
  std::uint64_t v = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    const int d = hex_digit(s[i]);
    if (d < 0) return bad();
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return v;
}

// DATA: "0x" + an even number of hex digits; `size` bytes exactly when given.
Result<codec::Bytes> data(const json& j, const char* what, std::optional<std::size_t> size = std::nullopt) {
  const auto bad = [&](const std::string& why) { return std::unexpected(std::string(what) + " " + why); };
  if (!j.is_string()) return bad("is not a hex string");
  const auto& s = j.get_ref<const std::string&>();
  if (s.size() < 2 || s[0] != '0' || s[1] != 'x') return bad("is not 0x-prefixed hex");
  auto bytes = codec::from_hex(s);
  if (!bytes) return bad("is not hex data");
  if (size && bytes->size() != *size) return bad("is not " + std::to_string(*size) + " bytes");
  return std::move(*bytes);
}

Result<codec::Hash32> hash32(const json& j, const char* what) {
  auto b = data(j, what, 32);
  if (!b) return std::unexpected(b.error());
  codec::Hash32 out{};
  std::copy(b->begin(), b->end(), out.begin());
  return out;
}

Result<codec::Address> address(const json& j, const char* what) {
  auto b = data(j, what, 20);
  if (!b) return std::unexpected(b.error());
  codec::Address out;
  std::copy(b->begin(), b->end(), out.bytes.begin());
  return out;
}

const json* member(const json& object, const char* name) {
  const auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

struct LogEntry {
  codec::Address address;
  std::vector<codec::Hash32> topics;
  codec::Bytes data;
  std::uint64_t log_index = 0;
};

struct Receipt {
  codec::Hash32 tx_hash{};
  codec::Hash32 block_hash{};
  std::uint64_t block_number = 0;
  std::uint64_t status = 0;
  codec::Address from;
  std::optional<codec::Address> to;
  std::vector<LogEntry> logs;
};

#define TRY_ASSIGN(lhs, expr)                              \
  do {                                                     \
    auto tried_ = (expr);                                  \
    if (!tried_) return std::unexpected(tried_.error());   \
    lhs = std::move(*tried_);                              \
  } while (false)

Result<LogEntry> parse_log(const json& j, const Receipt& receipt, std::size_t i) {
  const std::string where = "receipt log " + std::to_string(i);
  if (!j.is_object()) return std::unexpected(where + " is not an object");
  LogEntry log;
  const json* a = member(j, "address");
  const json* t = member(j, "topics");
  const json* d = member(j, "data");
  const json* li = member(j, "logIndex");
  if (!a || !t || !d || !li) return std::unexpected(where + " lacks address, topics, data or logIndex");
  TRY_ASSIGN(log.address, address(*a, "log address"));
  if (!t->is_array() || t->size() > 4) return std::unexpected(where + " topics is not an array of at most 4");
  for (const auto& topic : *t) {
    codec::Hash32 h{};
    TRY_ASSIGN(h, hash32(topic, "log topic"));
    log.topics.push_back(h);
  }
  TRY_ASSIGN(log.data, data(*d, "log data"));
  TRY_ASSIGN(log.log_index, quantity(*li, "logIndex"));
  // A log of another transaction or block inside this receipt would be a broken node.
  if (const json* th = member(j, "transactionHash"); th && !th->is_null()) {
    codec::Hash32 h{};
    TRY_ASSIGN(h, hash32(*th, "log transactionHash"));
    if (h != receipt.tx_hash) return std::unexpected(where + " belongs to another transaction");
  }
  if (const json* bh = member(j, "blockHash"); bh && !bh->is_null()) {
    codec::Hash32 h{};
    TRY_ASSIGN(h, hash32(*bh, "log blockHash"));
    if (h != receipt.block_hash) return std::unexpected(where + " belongs to another block");
  }
  if (const json* removed = member(j, "removed"); removed && !(removed->is_boolean() && !removed->get<bool>())) {
    return std::unexpected(where + " is marked removed (reorged out) or malformed");
  }
  return log;
}

Result<Receipt> parse_receipt(const json& j, const codec::Hash32& tx_hash) {
  if (!j.is_object()) return std::unexpected("the receipt is not an object");
  Receipt r;
  for (const char* name : {"transactionHash", "blockHash", "blockNumber", "status", "from", "to", "logs"}) {
    if (!member(j, name)) return std::unexpected(std::string("the receipt lacks ") + name);
  }
  TRY_ASSIGN(r.tx_hash, hash32(j["transactionHash"], "transactionHash"));
  if (r.tx_hash != tx_hash) return std::unexpected("the receipt is for another transaction");
  TRY_ASSIGN(r.block_hash, hash32(j["blockHash"], "blockHash"));
  TRY_ASSIGN(r.block_number, quantity(j["blockNumber"], "blockNumber"));
  TRY_ASSIGN(r.status, quantity(j["status"], "status"));
  if (r.status > 1) return std::unexpected("the receipt status is neither 0x0 nor 0x1");
  TRY_ASSIGN(r.from, address(j["from"], "from"));
  if (!j["to"].is_null()) {
    codec::Address to;
    TRY_ASSIGN(to, address(j["to"], "to"));
    r.to = to;
  }
  const json& logs = j["logs"];
  if (!logs.is_array()) return std::unexpected("the receipt logs is not an array");
  for (std::size_t i = 0; i < logs.size(); ++i) {
    LogEntry log;
    TRY_ASSIGN(log, parse_log(logs[i], r, i));
    r.logs.push_back(std::move(log));
  }
  return r;
}

json log_json(const LogEntry& log) {
  json topics = json::array();
  for (const auto& t : log.topics) topics.push_back(codec::to_hex(t));
  return {{"address", codec::to_checksum(log.address)},
          {"topics", std::move(topics)},
          {"data", codec::to_hex(log.data)},
          {"logIndex", codec::to_hex_quantity(log.log_index)}};
}

const LogEntry* log_at(const Receipt& r, std::uint64_t index) {
  for (const auto& log : r.logs) {
    if (log.log_index == index) return &log;
  }
  return nullptr;
}

// The receipt as recorded: what the decision depends on and nothing else.
json trimmed(const Receipt& r, std::uint64_t log_index) {
  const LogEntry* log = log_at(r, log_index);
  return {{"transactionHash", codec::to_hex(r.tx_hash)},
          {"blockHash", codec::to_hex(r.block_hash)},
          {"blockNumber", codec::to_hex_quantity(r.block_number)},
          {"status", codec::to_hex_quantity(r.status)},
          {"from", codec::to_checksum(r.from)},
          {"to", r.to ? json(codec::to_checksum(*r.to)) : json(nullptr)},
          {"log", log ? log_json(*log) : json(nullptr)}};
}

// What one endpoint said.
struct Answer {
  std::optional<std::string> error;
  std::optional<std::uint64_t> chain_id;
  bool wrong_chain = false;
  std::optional<Receipt> receipt;
  std::uint64_t head = 0;
  std::optional<codec::Hash32> canonical_hash;  // nullopt: the node has no block at that height
  std::optional<std::uint64_t> finalized;
};

#undef TRY_ASSIGN

const char* const kStatusNames[] = {"confirmed", "unconfirmed", "not-found", "unreachable", "disagree"};
const char* const kReasons[] = {"deposit-confirmed", "deposit-unconfirmed", "deposit-not-found",
                                "source-unreachable", "source-disagree"};

}  // namespace

struct SourceObserver::Endpoint {
  std::unique_ptr<http::Client> client;
  std::string url;
  std::string redacted;
  mutable std::atomic<std::uint64_t> next_id{1};

  Result<json> call(const std::string& method, json params) const {
    const std::uint64_t id = next_id.fetch_add(1);
    const json request = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
    auto body = client->post_json(request.dump());
    if (!body) return std::unexpected(method + ": " + replace_all(body.error(), url, redacted));
    json reply = json::parse(*body, nullptr, false);
    if (reply.is_discarded() || !reply.is_object()) return std::unexpected(method + ": the answer is not a JSON object");
    const json* version = member(reply, "jsonrpc");
    const json* rid = member(reply, "id");
    if (!version || *version != "2.0" || !rid || !rid->is_number_unsigned() || rid->get<std::uint64_t>() != id) {
      return std::unexpected(method + ": not a JSON-RPC 2.0 answer to our request");
    }
    const json* result = member(reply, "result");
    const json* error = member(reply, "error");
    if ((result != nullptr) == (error != nullptr)) {
      return std::unexpected(method + ": the answer has neither or both of result and error");
    }
    if (error) {
      std::string message = "malformed error";
      if (error->is_object() && error->contains("message") && (*error)["message"].is_string()) {
        message = printable((*error)["message"].get<std::string>());
      }
      std::string code;
      if (error->is_object() && error->contains("code") && (*error)["code"].is_number_integer()) {
        code = " " + std::to_string((*error)["code"].get<std::int64_t>());
      }
      return std::unexpected(method + ": RPC error" + code + ": " + message);
    }
    return *result;
  }

  Answer ask(const DepositQuery& query) const {
    Answer a;
    const auto failed = [&](std::string why) {
      a.error = std::move(why);
      return a;
    };
    auto chain = call("eth_chainId", json::array());
    if (!chain) return failed(chain.error());
    auto chain_id = quantity(*chain, "eth_chainId");
    if (!chain_id) return failed(chain_id.error());
    a.chain_id = *chain_id;
    if (*chain_id != query.chain_id) {
      a.wrong_chain = true;
      return a;
    }
    auto receipt_json = call("eth_getTransactionReceipt", json::array({codec::to_hex(query.tx_hash)}));
    if (!receipt_json) return failed(receipt_json.error());
    if (receipt_json->is_null()) return a;
    auto receipt = parse_receipt(*receipt_json, query.tx_hash);
    if (!receipt) return failed("eth_getTransactionReceipt: " + receipt.error());
    a.receipt = std::move(*receipt);

    auto head = call("eth_blockNumber", json::array());
    if (!head) return failed(head.error());
    auto head_number = quantity(*head, "eth_blockNumber");
    if (!head_number) return failed(head_number.error());
    a.head = *head_number;

    auto block = call("eth_getBlockByNumber", json::array({codec::to_hex_quantity(a.receipt->block_number), false}));
    if (!block) return failed(block.error());
    if (!block->is_null()) {
      if (!block->is_object() || !member(*block, "hash") || !member(*block, "number")) {
        return failed("eth_getBlockByNumber: the block lacks hash or number");
      }
      auto number = quantity((*block)["number"], "block number");
      if (!number) return failed("eth_getBlockByNumber: " + number.error());
      if (*number != a.receipt->block_number) return failed("eth_getBlockByNumber: answered another block");
      auto hash = hash32((*block)["hash"], "block hash");
      if (!hash) return failed("eth_getBlockByNumber: " + hash.error());
      a.canonical_hash = *hash;
    }

    if (query.finalized) {
      auto fin = call("eth_getBlockByNumber", json::array({"finalized", false}));
      if (!fin) return failed(fin.error());
      if (!fin->is_null()) {
        if (!fin->is_object() || !member(*fin, "number")) return failed("eth_getBlockByNumber(finalized): no number");
        auto number = quantity((*fin)["number"], "finalized block number");
        if (!number) return failed("eth_getBlockByNumber(finalized): " + number.error());
        a.finalized = *number;
      }
    }
    return a;
  }
};

std::string to_string(ObservationStatus status) { return kStatusNames[static_cast<std::size_t>(status)]; }
std::string reason_of(ObservationStatus status) { return kReasons[static_cast<std::size_t>(status)]; }

SourceObserver::SourceObserver(std::map<std::uint64_t, std::vector<std::unique_ptr<Endpoint>>> endpoints)
    : endpoints_(std::move(endpoints)) {}
SourceObserver::~SourceObserver() = default;

std::expected<std::unique_ptr<SourceObserver>, std::string> SourceObserver::create(
    std::map<std::uint64_t, std::vector<std::string>> endpoints_by_chain, std::chrono::milliseconds timeout) {
  std::map<std::uint64_t, std::vector<std::unique_ptr<Endpoint>>> endpoints;
  for (auto& [chain, urls] : endpoints_by_chain) {
    auto& list = endpoints[chain];
    for (std::size_t i = 0; i < urls.size(); ++i) {
      auto e = std::make_unique<Endpoint>();
      e->url = std::move(urls[i]);
      e->redacted = redact(e->url);
      auto client = http::Client::create(e->url, timeout);
      if (!client) {
        // By index only: even the host may carry a key (a provider's per-customer subdomain).
        return std::unexpected("source chain " + std::to_string(chain) + " endpoint " + std::to_string(i) + ": " +
                               replace_all(client.error(), e->url, "the endpoint"));
      }
      e->client = std::move(*client);
      list.push_back(std::move(e));
    }
  }
  return std::unique_ptr<SourceObserver>(new SourceObserver(std::move(endpoints)));
}

Observation SourceObserver::observe(const DepositQuery& query) const {
  Observation o;
  const auto finish = [&](ObservationStatus status, std::string detail) {
    o.status = status;
    o.reason = reason_of(status);
    o.detail = std::move(detail);
    return o;
  };
  const std::string chain = std::to_string(query.chain_id);
  const auto it = endpoints_.find(query.chain_id);
  if (it == endpoints_.end() || it->second.empty()) {
    return finish(ObservationStatus::kUnreachable, "no RPC endpoint configured for source chain " + chain);
  }
  const auto& list = it->second;

  std::vector<Answer> answers(list.size());
  try {
    // Concurrently, so that the whole observation takes one endpoint's time, not their sum.
    std::vector<std::future<Answer>> pending;
    for (const auto& e : list) {
      pending.push_back(std::async(std::launch::async, [&e, &query] { return e->ask(query); }));
    }
    for (std::size_t i = 0; i < pending.size(); ++i) answers[i] = pending[i].get();
  } catch (const std::exception& e) {
    return finish(ObservationStatus::kUnreachable, std::string("cannot query the endpoints: ") + e.what());
  }

  // Per-endpoint record, and the unreachable / misconfigured verdicts, which need no comparison.
  std::vector<std::string> errors, wrong;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const Answer& a = answers[i];
    json entry = {{"index", i}};
    if (a.error) {
      entry["error"] = *a.error;
      errors.push_back("endpoint " + std::to_string(i) + ": " + *a.error);
    } else {
      entry["chain_id"] = *a.chain_id;
      if (a.wrong_chain) {
        wrong.push_back("endpoint " + std::to_string(i) + " is on chain " + std::to_string(*a.chain_id) +
                        ", not " + chain + " (misconfigured)");
      } else if (!a.receipt) {
        entry["receipt"] = nullptr;
      } else {
        entry["receipt"] = trimmed(*a.receipt, query.log_index);
        entry["head"] = a.head;
        entry["canonical_block_hash"] = a.canonical_hash ? json(codec::to_hex(*a.canonical_hash)) : json(nullptr);
        if (query.finalized) entry["finalized_block"] = a.finalized ? json(*a.finalized) : json(nullptr);
      }
    }
    o.endpoints.push_back(std::move(entry));
  }
  const auto join = [](const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
    return out;
  };
  if (!errors.empty()) return finish(ObservationStatus::kUnreachable, join(errors));
  if (!wrong.empty()) return finish(ObservationStatus::kDisagree, join(wrong));

  // Agreement on everything the decision depends on: the trimmed receipt (or its absence).
  const json first = o.endpoints[0]["receipt"];
  for (std::size_t i = 1; i < answers.size(); ++i) {
    const json& other = o.endpoints[i]["receipt"];
    if (other == first) continue;
    const auto describe = [](const json& r) {
      return r.is_null() ? std::string("no receipt")
                         : "block " + r["blockNumber"].get<std::string>() + " " + r["blockHash"].get<std::string>() +
                               " status " + r["status"].get<std::string>();
    };
    std::string what = describe(first) + " vs " + describe(other);
    if (describe(first) == describe(other)) what = "the log at index " + std::to_string(query.log_index);
    return finish(ObservationStatus::kDisagree, "endpoints 0 and " + std::to_string(i) + " disagree: " + what);
  }
  if (!answers[0].receipt) {
    return finish(ObservationStatus::kNotFound,
                  "no receipt for " + codec::to_hex(query.tx_hash) + " on chain " + chain + " (every endpoint)");
  }
  const Receipt& r = *answers[0].receipt;
  o.receipt = first;
  o.block_number = r.block_number;
  o.block_hash = r.block_hash;

  // A receipt whose block is not the canonical one at its height is not settled.
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].canonical_hash != r.block_hash) {
      return finish(ObservationStatus::kUnconfirmed,
                    "reorg: endpoint " + std::to_string(i) + "'s block " + std::to_string(r.block_number) + " is " +
                        (answers[i].canonical_hash ? codec::to_hex(*answers[i].canonical_hash) : std::string("absent")) +
                        ", not the receipt's " + codec::to_hex(r.block_hash));
    }
  }

  std::uint64_t confirmations = UINT64_MAX;
  for (const auto& a : answers) confirmations = std::min(confirmations, a.head >= r.block_number ? a.head - r.block_number + 1 : 0);
  o.confirmations = confirmations;
  if (query.finalized) {
    std::optional<std::uint64_t> fin;
    for (const auto& a : answers) {
      if (!a.finalized) {
        fin.reset();
        break;
      }
      fin = fin ? std::min(*fin, *a.finalized) : *a.finalized;
    }
    o.finalized_block = fin;
  }

  if (r.status != 1) return finish(ObservationStatus::kNotFound, "the transaction reverted (status 0x0)");
  const LogEntry* log = log_at(r, query.log_index);
  const std::string index = std::to_string(query.log_index);
  if (!log) return finish(ObservationStatus::kNotFound, "the receipt has no log with index " + index);
  if (log->address != query.contract) {
    return finish(ObservationStatus::kNotFound, "log " + index + " was emitted by " + codec::to_checksum(log->address) +
                                                    ", not the bridge contract " + codec::to_checksum(query.contract));
  }
  if (log->topics.empty() || log->topics[0] != query.event.topic0) {
    return finish(ObservationStatus::kNotFound, "log " + index + " is not " + query.event.canonical);
  }
  auto event = codec::decode_event_log(query.event, log->topics, log->data);
  if (!event) {
    return finish(ObservationStatus::kNotFound,
                  "log " + index + " does not decode as " + query.event.canonical + ": " + event.error().message());
  }
  o.event = std::move(*event);

  if (query.finalized) {
    if (!o.finalized_block) return finish(ObservationStatus::kUnconfirmed, "an endpoint has no finalized block yet");
    if (r.block_number > *o.finalized_block) {
      return finish(ObservationStatus::kUnconfirmed, "block " + std::to_string(r.block_number) +
                                                         " is above the finalized block " +
                                                         std::to_string(*o.finalized_block));
    }
    return finish(ObservationStatus::kConfirmed, "block " + std::to_string(r.block_number) +
                                                     " is finalized (finalized block " +
                                                     std::to_string(*o.finalized_block) + ")");
  }
  const std::uint64_t needed = std::max<std::uint64_t>(query.confirmations, 1);
  if (confirmations < needed) {
    return finish(ObservationStatus::kUnconfirmed,
                  std::to_string(confirmations) + " of " + std::to_string(needed) + " confirmations");
  }
  return finish(ObservationStatus::kConfirmed,
                std::to_string(confirmations) + " confirmations (" + std::to_string(needed) + " required)");
}

json to_json(const Observation& o) {
  return {{"status", to_string(o.status)},
          {"reason", o.reason},
          {"detail", o.detail},
          {"event", o.event},
          {"receipt", o.receipt},
          {"block_number", o.block_number},
          {"block_hash", codec::to_hex(o.block_hash)},
          {"confirmations", o.confirmations},
          {"finalized_block", o.finalized_block ? json(*o.finalized_block) : json(nullptr)},
          {"endpoints", o.endpoints}};
}

std::expected<Observation, std::string> observation_from_json(const json& j) {
  const auto bad = [](const std::string& why) { return std::unexpected("source observation: " + why); };
  static const char* const kMembers[] = {"status",        "reason",          "detail",   "event",
                                         "receipt",       "block_number",    "block_hash", "confirmations",
                                         "finalized_block", "endpoints"};
  if (!j.is_object()) return bad("not an object");
  for (const char* name : kMembers) {
    if (!j.contains(name)) return bad(std::string("missing ") + name);
  }
  if (j.size() != std::size(kMembers)) return bad("unknown members");
  Observation o;
  const json& status = j["status"];
  if (!status.is_string()) return bad("status is not a string");
  bool known = false;
  for (std::size_t s = 0; s < std::size(kStatusNames); ++s) {
    if (status == kStatusNames[s]) {
      o.status = static_cast<ObservationStatus>(s);
      known = true;
    }
  }
  if (!known) return bad("unknown status");
  if (!j["reason"].is_string() || j["reason"] != reason_of(o.status)) return bad("reason does not match the status");
  o.reason = j["reason"].get<std::string>();
  if (!j["detail"].is_string()) return bad("detail is not a string");
  o.detail = j["detail"].get<std::string>();
  if (!j["event"].is_object() && !j["event"].is_null()) return bad("event is neither an object nor null");
  o.event = j["event"];
  if (!j["receipt"].is_object() && !j["receipt"].is_null()) return bad("receipt is neither an object nor null");
  o.receipt = j["receipt"];
  if (!j["block_number"].is_number_unsigned()) return bad("block_number is not an unsigned integer");
  o.block_number = j["block_number"].get<std::uint64_t>();
  const json& hash = j["block_hash"];
  auto parsed = hash32(hash, "block_hash");
  if (!parsed) return bad(parsed.error());
  if (hash != codec::to_hex(*parsed)) return bad("block_hash is not lower-case hex");
  o.block_hash = *parsed;
  if (!j["confirmations"].is_number_unsigned()) return bad("confirmations is not an unsigned integer");
  o.confirmations = j["confirmations"].get<std::uint64_t>();
  const json& fin = j["finalized_block"];
  if (fin.is_number_unsigned()) {
    o.finalized_block = fin.get<std::uint64_t>();
  } else if (!fin.is_null()) {
    return bad("finalized_block is neither an unsigned integer nor null");
  }
  if (!j["endpoints"].is_array()) return bad("endpoints is not an array");
  o.endpoints = j["endpoints"];
  return o;
}

}  // namespace txguard::service
