#include "guard/service/rpc.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>

#include "policy/codec/address.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::service {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxJsonDepth = 64;
constexpr std::size_t kMaxBatch = 100;

// Read-only methods passed to the upstream node unchanged. Nothing here can sign or send.
constexpr std::array<std::string_view, 24> kForwarded = {
    "eth_blockNumber",         "eth_getBalance",          "eth_getCode",           "eth_getStorageAt",
    "eth_call",                "eth_estimateGas",         "eth_getTransactionCount", "eth_getTransactionByHash",
    "eth_getTransactionReceipt", "eth_getBlockByNumber",  "eth_getBlockByHash",    "eth_gasPrice",
    "eth_maxPriorityFeePerGas", "eth_feeHistory",         "eth_getLogs",           "eth_syncing",
    "web3_clientVersion",      "eth_blobBaseFee",         "eth_getBlockTransactionCountByNumber",
    "eth_getTransactionByBlockNumberAndIndex", "eth_getProof", "eth_createAccessList", "net_listening",
    "eth_getBlockReceipts"};

json error(const json& id, int code, const std::string& message, const json& data = nullptr) {
  json e = {{"code", code}, {"message", message}};
  if (!data.is_null()) e["data"] = data;
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", e}};
}

json result(const json& id, json value) { return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(value)}}; }

// A bug or a resource failure inside a task: the call is answered. A decision already recorded
// stands (a retry gets it again, never judged twice).
json internal_error(const json& id, const std::string& what) {
  return error(id, -32603, "internal error", json{{"error", what}});
}

// Answers a call whose task threw. Never throws itself: if even the answer fails, the server's
// response deadline answers the client.
void answer_internal(const std::function<void(json)>& reply, const json& id, const char* what) noexcept {
  try {
    reply(internal_error(id, what));
  } catch (...) {
  }
}

// Each call is answered exactly once: a task that throws after answering must not answer again (a
// batch counts its answers).
std::function<void(json)> once(std::function<void(json)> reply) {
  auto used = std::make_shared<std::atomic<bool>>(false);
  return [used, reply = std::move(reply)](json answer) {
    if (used->exchange(true)) return;
    reply(std::move(answer));
  };
}

// Upstream URLs often carry API keys (https://mainnet.infura.io/v3/KEY): no message that reaches a
// client or a log names one. `who` stands in for it ("the upstream for chain 1").
std::string redact(std::string text, const std::string& url, const std::string& who) {
  if (url.empty()) return text;
  for (std::size_t at = text.find(url); at != std::string::npos; at = text.find(url, at + who.size())) {
    text.replace(at, url.size(), who);
  }
  return text;
}

// An upstream's quantity answer, read strictly: a "0x" hex string of at most 256 bits. Anything else
// is the upstream's fault, never the client's.
std::optional<codec::U256> upstream_quantity(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  if (!text.starts_with("0x")) return std::nullopt;
  auto v = codec::parse_u256(text);
  if (!v) return std::nullopt;
  return *v;
}

// A quantity that must fit 64 bits (a nonce, a gas limit).
std::optional<std::uint64_t> upstream_u64(const json& value) {
  auto v = upstream_quantity(value);
  if (!v) return std::nullopt;
  return codec::to_u64(*v);
}

std::string quantity(std::uint64_t v) { return codec::to_hex_quantity(codec::U256(v)); }

std::optional<std::uint64_t> parse_chain(const std::string& text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v == 0) return std::nullopt;
  return v;
}

json denial(const Outcome& o) {
  std::string codes;
  for (const auto& c : o.reason_codes) codes += (codes.empty() ? "" : ", ") + c;
  json data = {{"decision_id", o.decision_id}, {"status", to_string(o.status)}, {"reasons", json::array()}};
  if (o.decision.is_object()) {
    data["reasons"] = o.decision.value("reasons", json::array());
    data["rule"] = o.decision.value("rule", json(nullptr));
  }
  if (o.hold.is_object()) data["hold"] = o.hold;
  std::string message;
  if (o.status == Status::kPending) message = "held for approval (decision " + o.decision_id + "): approve it, then send it again";
  else if (o.status == Status::kDenied) message = "denied by policy" + (codes.empty() ? "" : ": " + codes);
  else message = "the hold was " + std::string(to_string(o.status));
  return json{{"code", -32003}, {"message", message}, {"data", data}};
}

}  // namespace

void RpcHandler::handle(const std::string& body, const std::string& requester, const std::string& chain_in_path,
                        std::function<void(http::Response)> respond,
                        std::function<void(const json&)> on_decision, TakeToken take_token) {
  const auto send = [respond](const json& answer) {
    http::Response r;
    // replace: an invalid UTF-8 byte in some message must not throw out of a pool task.
    r.body = answer.dump(-1, ' ', false, json::error_handler_t::replace);
    respond(std::move(r));
  };
  // A call that throws while being dispatched is answered; the others still run.
  const auto run = [this](Call call, Reply reply) {
    const json id = call.id;
    try {
      dispatch(std::move(call), reply);
    } catch (const std::exception& e) {
      answer_internal(reply, id, e.what());
    } catch (...) {
      answer_internal(reply, id, "unknown exception");
    }
  };
  auto parsed = codec::parse_json_strict(body, kMaxJsonDepth);
  if (!parsed) return send(error(nullptr, -32700, "parse error: " + parsed.error().message()));
  std::string chain = chain_in_path.empty() ? default_chain_ : chain_in_path;
  if (!chain_in_path.empty() && !parse_chain(chain_in_path)) {
    return send(error(nullptr, -32600, "the path must be /rpc/<chain id in decimal>"));
  }
  const auto make_call = [&](const json& item) -> std::expected<Call, json> {
    if (!item.is_object()) return std::unexpected(error(nullptr, -32600, "invalid request: expected an object"));
    const json id = item.contains("id") ? item.at("id") : json(nullptr);
    if (!item.contains("method") || !item.at("method").is_string()) {
      return std::unexpected(error(id, -32600, "invalid request: method must be a string"));
    }
    json params = item.contains("params") ? item.at("params") : json::array();
    if (!params.is_array()) return std::unexpected(error(id, -32602, "params must be an array"));
    return Call{id, item.at("method").get<std::string>(), params, requester, chain, on_decision};
  };
  if (parsed->is_array()) {
    if (parsed->empty()) return send(error(nullptr, -32600, "invalid request: empty batch"));
    if (parsed->size() > kMaxBatch) return send(error(nullptr, -32600, "invalid request: more than 100 calls in a batch"));
    // Rate: a batch of N calls costs N request tokens. The HTTP request paid for the first; the
    // others are taken in order before anything runs, so a batch cannot multiply a client's rate.
    std::size_t admitted = parsed->size();
    if (take_token) {
      for (std::size_t i = 1; i < parsed->size(); ++i) {
        if (!take_token()) {
          admitted = i;
          break;
        }
      }
    }
    struct Gather {
      std::mutex mutex;
      std::vector<json> answers;
      std::size_t left;
    };
    auto gather = std::make_shared<Gather>();
    gather->answers.resize(parsed->size());
    gather->left = parsed->size();
    for (std::size_t i = 0; i < parsed->size(); ++i) {
      Reply reply = once([gather, i, send](json answer) {
        std::lock_guard lock(gather->mutex);
        gather->answers[i] = std::move(answer);
        if (--gather->left == 0) send(json(gather->answers));
      });
      const json& item = (*parsed)[i];
      if (i >= admitted) {
        const json id = item.is_object() && item.contains("id") ? item.at("id") : json(nullptr);
        reply(error(id, -32005, "limit exceeded: this call of the batch is over the client's request rate (each call costs one request)"));
        continue;
      }
      auto call = make_call(item);
      if (!call) reply(call.error());
      else run(std::move(*call), std::move(reply));
    }
    return;
  }
  auto call = make_call(*parsed);
  if (!call) return send(call.error());
  run(std::move(*call), once(send));
}

void RpcHandler::on_pool(const json& id, const Reply& reply, std::function<void()> task) noexcept {
  try {
    post_guarded(id, reply, std::move(task));
  } catch (...) {  // the pool could not take it (allocation): answer here
    answer_internal(reply, id, "cannot queue the answer");
  }
}

void RpcHandler::post_guarded(json id, Reply reply, std::function<void()> task) {
  boost::asio::post(pool_, [id = std::move(id), reply = std::move(reply), task = std::move(task)] {
    try {
      task();
    } catch (const std::exception& e) {
      answer_internal(reply, id, e.what());
    } catch (...) {
      answer_internal(reply, id, "unknown exception");
    }
  });
}

std::expected<json, json> RpcHandler::upstream(const std::string& chain, const std::string& method, const json& params) {
  const auto it = upstreams_.find(chain);
  if (it == upstreams_.end()) {
    return std::unexpected(json{{"code", -32603}, {"message", "no upstream node configured for chain " + chain}});
  }
  const std::string who = "the upstream for chain " + chain;
  const std::string& url = it->second->url();
  const auto fail = [&](const std::string& why) {
    return std::unexpected(json{{"code", -32603}, {"message", redact(who + ": " + why, url, who)}});
  };
  const json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
  auto body = it->second->post_json(request.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!body) return fail(body.error());
  auto answer = codec::parse_json_strict(*body, 512);
  if (!answer || !answer->is_object()) return fail("answered malformed JSON-RPC to " + method);
  if (answer->contains("error")) {
    // Passed through only in the JSON-RPC shape, so that a client (and the "already known" check
    // below) never meets an error of another type.
    const json& e = answer->at("error");
    if (!e.is_object() || !e.contains("code") || !e.at("code").is_number_integer() || !e.contains("message") ||
        !e.at("message").is_string()) {
      return fail("answered a malformed error to " + method);
    }
    json out = {{"code", e.at("code")}, {"message", redact(e.at("message").get<std::string>(), url, who)}};
    if (e.contains("data")) out["data"] = e.at("data");
    return std::unexpected(std::move(out));
  }
  if (!answer->contains("result")) return fail("answered no result to " + method);
  return answer->at("result");
}

void RpcHandler::dispatch(Call call, Reply reply) {
  const std::string& m = call.method;
  const codec::Address guard = pipeline_.signer().address();
  const auto chain_id = parse_chain(call.chain);
  if (m == "eth_accounts" || m == "eth_requestAccounts") {
    return reply(result(call.id, json::array({codec::to_checksum(guard)})));
  }
  if (m == "eth_chainId" || m == "net_version") {
    if (!chain_id) return reply(error(call.id, -32000, "this endpoint has no chain: use /rpc/<chain id>"));
    return reply(result(call.id, m == "eth_chainId" ? json(quantity(*chain_id)) : json(call.chain)));
  }
  if (m == "eth_sendTransaction" || m == "eth_signTransaction") {
    if (!chain_id) return reply(error(call.id, -32000, "this endpoint has no chain: use /rpc/<chain id>"));
    if (call.params.size() != 1) return reply(error(call.id, -32602, "expected [transaction]"));
    const bool send = m == "eth_sendTransaction";
    const json id = call.id;
    return post_guarded(id, reply, [this, call = std::move(call), send, reply]() mutable {
      sign_transaction(std::move(call), send, std::move(reply));
    });
  }
  const policy::Policy& policy = pipeline_.policy().policy;
  const auto check_account = [&](const json& address) -> std::optional<json> {
    auto a = codec::json_address(address, "address");
    if (!a) return error(call.id, -32602, a.error().message());
    if (*a != guard) return error(call.id, -32602, "txguard signs only as " + codec::to_checksum(guard));
    return std::nullopt;
  };
  if (m == "eth_signTypedData_v4") {
    if (call.params.size() != 2) return reply(error(call.id, -32602, "expected [address, typedData]"));
    if (auto bad = check_account(call.params[0])) return reply(*bad);
    auto request = typed_data_request(call.params[1], policy, call.requester, guard, chain_id);
    if (!request) return reply(error(call.id, -32602, request.error().message));
    return sign_request(std::move(call), std::move(*request), std::move(reply));
  }
  if (m == "personal_sign" || m == "eth_sign") {
    if (call.params.size() < 2) return reply(error(call.id, -32602, m == "eth_sign" ? "expected [address, message]" : "expected [message, address]"));
    const json& address = m == "eth_sign" ? call.params[0] : call.params[1];
    const json& message = m == "eth_sign" ? call.params[1] : call.params[0];
    if (auto bad = check_account(address)) return reply(*bad);
    auto request = message_request(message, policy, call.requester, guard, chain_id);
    if (!request) return reply(error(call.id, -32602, request.error().message));
    return sign_request(std::move(call), std::move(*request), std::move(reply));
  }
  if (std::find(kForwarded.begin(), kForwarded.end(), m) != kForwarded.end()) {
    const json id = call.id;
    return post_guarded(id, reply, [this, call = std::move(call), reply] {
      auto answer = upstream(call.chain, call.method, call.params);
      if (!answer) return reply(json{{"jsonrpc", "2.0"}, {"id", call.id}, {"error", answer.error()}});
      reply(result(call.id, std::move(*answer)));
    });
  }
  reply(error(call.id, -32601, "method " + m + " is not available through txguard"));
}

// Runs on the worker pool: fills the transaction from the upstream, then hands it to the pipeline.
// Every number an upstream answers is read strictly and every sum is checked: a hostile or broken
// node gets the call answered -32603 with the reason, never a signature over what it made up and
// never an exception (std::overflow_error from U256 used to end the process here).
void RpcHandler::sign_transaction(Call call, bool send, Reply reply) {
  const codec::Address guard = pipeline_.signer().address();
  const std::uint64_t chain_id = *parse_chain(call.chain);
  json tx = call.params[0];
  if (!tx.is_object()) return reply(error(call.id, -32602, "params[0]: expected a transaction object"));
  if (!tx.contains("from")) tx["from"] = codec::to_checksum(guard);
  if (tx.contains("gasLimit") && !tx.contains("gas")) tx["gas"] = tx.at("gasLimit");
  tx.erase("gasLimit");
  const std::string who = "the upstream for chain " + call.chain;
  const auto fail_upstream = [&](const json& e) { reply(json{{"jsonrpc", "2.0"}, {"id", call.id}, {"error", e}}); };
  const auto malformed = [&](const std::string& what) {
    reply(error(call.id, -32603, "unavailable: nothing was signed: " + who + " " + what,
                json{{"error", who + " " + what}}));
  };
  if (!tx.contains("nonce")) {
    auto n = upstream(call.chain, "eth_getTransactionCount", json::array({codec::to_checksum(guard), "pending"}));
    if (!n) return fail_upstream(n.error());
    const auto nonce = upstream_u64(*n);
    if (!nonce) return malformed("answered eth_getTransactionCount with something other than a 64-bit quantity");
    tx["nonce"] = quantity(*nonce);
  }
  if (!tx.contains("gasPrice") && !tx.contains("maxFeePerGas")) {
    auto block = upstream(call.chain, "eth_getBlockByNumber", json::array({"latest", false}));
    if (!block) return fail_upstream(block.error());
    if (!block->is_object()) return malformed("answered eth_getBlockByNumber(latest) without a block object");
    if (block->contains("baseFeePerGas") && !block->at("baseFeePerGas").is_null()) {
      const auto base = upstream_quantity(block->at("baseFeePerGas"));
      if (!base) return malformed("answered a malformed baseFeePerGas");
      codec::U256 tip = 1'000'000'000;
      const bool client_tip = tx.contains("maxPriorityFeePerGas");
      if (client_tip) {
        auto t = codec::json_u256(tx.at("maxPriorityFeePerGas"), "params[0].maxPriorityFeePerGas");
        if (!t) return reply(error(call.id, -32602, t.error().message()));
        tip = *t;
      } else if (auto t = upstream(call.chain, "eth_maxPriorityFeePerGas", json::array())) {
        const auto parsed = upstream_quantity(*t);
        if (!parsed) return malformed("answered eth_maxPriorityFeePerGas with something other than a quantity");
        tip = *parsed;
      }  // else a node without eth_maxPriorityFeePerGas: 1 gwei
      // The fee cap EIP-1559 wallets use: room for the base fee to double, plus the tip.
      const auto twice = codec::checked_mul(*base, 2);
      if (!twice) return malformed("answered a baseFeePerGas so large that 2 x baseFeePerGas exceeds 2^256-1");
      const auto cap = codec::checked_add(*twice, tip);
      if (!cap && client_tip) {
        return reply(error(call.id, -32602,
                           "params[0].maxPriorityFeePerGas: too large: without maxFeePerGas the fee cap 2 x "
                           "baseFeePerGas + maxPriorityFeePerGas would exceed 2^256-1; give maxFeePerGas"));
      }
      if (!cap) return malformed("answered fees whose cap 2 x baseFeePerGas + tip exceeds 2^256-1");
      tx["maxPriorityFeePerGas"] = codec::to_hex_quantity(tip);
      tx["maxFeePerGas"] = codec::to_hex_quantity(*cap);
    } else {
      auto price = upstream(call.chain, "eth_gasPrice", json::array());
      if (!price) return fail_upstream(price.error());
      const auto parsed = upstream_quantity(*price);
      if (!parsed) return malformed("answered eth_gasPrice with something other than a quantity");
      tx["gasPrice"] = codec::to_hex_quantity(*parsed);
    }
  } else if (tx.contains("maxFeePerGas") && !tx.contains("maxPriorityFeePerGas")) {
    auto t = upstream(call.chain, "eth_maxPriorityFeePerGas", json::array());
    if (!t) return fail_upstream(t.error());
    const auto parsed = upstream_quantity(*t);
    if (!parsed) return malformed("answered eth_maxPriorityFeePerGas with something other than a quantity");
    tx["maxPriorityFeePerGas"] = codec::to_hex_quantity(*parsed);
  }
  if (!tx.contains("gas")) {
    json estimate = {{"from", codec::to_checksum(guard)}};
    for (const char* key : {"to", "value", "data", "input"}) {
      if (tx.contains(key)) estimate[key] = tx.at(key);
    }
    auto gas = upstream(call.chain, "eth_estimateGas", json::array({estimate}));
    if (!gas) return fail_upstream(gas.error());
    const auto limit = upstream_u64(*gas);
    if (!limit) return malformed("answered eth_estimateGas with something other than a 64-bit quantity");
    tx["gas"] = quantity(*limit);
  }
  auto txn = transaction_from_rpc(tx, guard, chain_id);
  if (!txn) return reply(error(call.id, -32602, txn.error().message));
  auto request = transaction_request(*txn, pipeline_.policy().policy, call.requester, guard);
  if (!request) return reply(error(call.id, -32602, request.error().message));
  const auto on_decision = call.on_decision;
  const json id = call.id;
  const std::string chain = call.chain;
  pipeline_.sign(std::move(*request), [this, id, chain, send, reply, on_decision, who](Outcome o) {
    // Called on the pipeline's sequencer thread, which commits every decision: the answer is built
    // on the pool (guarded), so nothing of it can stall or end the sequencer.
    on_pool(id, reply, [this, id, chain, send, reply, on_decision, who, o = std::move(o)] {
      if (o.status != Status::kUnavailable && !o.replayed && on_decision) on_decision(o.decision);
      if (o.status == Status::kUnavailable) {
        return reply(error(id, -32603, "unavailable: nothing was signed", json{{"error", o.error}}));
      }
      if ((o.status != Status::kAllowed && o.status != Status::kApproved) || !o.signed_transaction) {
        json e = denial(o);
        return reply(json{{"jsonrpc", "2.0"}, {"id", id}, {"error", e}});
      }
      if (!send) return reply(result(id, *o.signed_transaction));
      const std::string raw = *o.signed_transaction;
      auto bytes = codec::from_hex(raw);
      if (!bytes) return reply(internal_error(id, "the signed transaction is not hex"));
      const std::string hash = codec::to_hex(codec::keccak256(*bytes));
      auto sent = upstream(chain, "eth_sendRawTransaction", json::array({raw}));
      if (sent) {
        // The node answers the transaction's hash; any other answer is a lie about what it did.
        std::string answered = sent->is_string() ? sent->get<std::string>() : std::string();
        std::transform(answered.begin(), answered.end(), answered.begin(),
                       [](char c) { return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c; });
        if (answered != hash) {
          return reply(error(id, -32603, who + " answered eth_sendRawTransaction with something other than the "
                                            "transaction's hash: it may not have been sent",
                             json{{"error", who + " answered a wrong transaction hash"}, {"hash", hash}}));
        }
        return reply(result(id, hash));
      }
      // A retry of a transaction the node already has: answer its hash.
      const std::string message = sent.error().value("message", "");
      if (message.find("already known") != std::string::npos || message.find("already imported") != std::string::npos) {
        return reply(result(id, hash));
      }
      reply(json{{"jsonrpc", "2.0"}, {"id", id}, {"error", sent.error()}});
    });
  });
}

void RpcHandler::sign_request(Call call, SigningRequest request, Reply reply) {
  const json id = call.id;
  const auto on_decision = call.on_decision;
  pipeline_.sign(std::move(request), [this, id, reply, on_decision](Outcome o) {
    // On the sequencer thread: the answer is built on the pool (see sign_transaction).
    on_pool(id, reply, [id, reply, on_decision, o = std::move(o)] {
      if (o.status != Status::kUnavailable && !o.replayed && on_decision) on_decision(o.decision);
      if (o.status == Status::kUnavailable) {
        return reply(error(id, -32603, "unavailable: nothing was signed", json{{"error", o.error}}));
      }
      if ((o.status != Status::kAllowed && o.status != Status::kApproved) || !o.signature) {
        return reply(json{{"jsonrpc", "2.0"}, {"id", id}, {"error", denial(o)}});
      }
      reply(result(id, codec::to_hex(*o.signature)));
    });
  });
}

}  // namespace txguard::service
