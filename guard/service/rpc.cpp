#include "guard/service/rpc.hpp"

#include <boost/asio/post.hpp>

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
                        std::function<void(const json&)> on_decision) {
  const auto send = [respond](const json& answer) {
    http::Response r;
    r.body = answer.dump();
    respond(std::move(r));
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
    struct Gather {
      std::mutex mutex;
      std::vector<json> answers;
      std::size_t left;
    };
    auto gather = std::make_shared<Gather>();
    gather->answers.resize(parsed->size());
    gather->left = parsed->size();
    for (std::size_t i = 0; i < parsed->size(); ++i) {
      Reply reply = [gather, i, send](json answer) {
        std::lock_guard lock(gather->mutex);
        gather->answers[i] = std::move(answer);
        if (--gather->left == 0) send(json(gather->answers));
      };
      auto call = make_call((*parsed)[i]);
      if (!call) reply(call.error());
      else dispatch(std::move(*call), std::move(reply));
    }
    return;
  }
  auto call = make_call(*parsed);
  if (!call) return send(call.error());
  dispatch(std::move(*call), send);
}

std::expected<json, json> RpcHandler::upstream(const std::string& chain, const std::string& method, const json& params) {
  const auto it = upstreams_.find(chain);
  if (it == upstreams_.end()) {
    return std::unexpected(json{{"code", -32603}, {"message", "no upstream node configured for chain " + chain}});
  }
  const json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
  auto body = it->second->post_json(request.dump());
  if (!body) return std::unexpected(json{{"code", -32603}, {"message", "upstream: " + body.error()}});
  auto answer = codec::parse_json_strict(*body, 512);
  if (!answer || !answer->is_object()) {
    return std::unexpected(json{{"code", -32603}, {"message", "upstream answered malformed JSON-RPC"}});
  }
  if (answer->contains("error")) return std::unexpected(answer->at("error"));
  if (!answer->contains("result")) return std::unexpected(json{{"code", -32603}, {"message", "upstream answered no result"}});
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
    return boost::asio::post(pool_, [this, call = std::move(call), send, reply = std::move(reply)]() mutable {
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
    return boost::asio::post(pool_, [this, call = std::move(call), reply = std::move(reply)] {
      auto answer = upstream(call.chain, call.method, call.params);
      if (!answer) return reply(json{{"jsonrpc", "2.0"}, {"id", call.id}, {"error", answer.error()}});
      reply(result(call.id, std::move(*answer)));
    });
  }
  reply(error(call.id, -32601, "method " + m + " is not available through txguard"));
}

// Runs on the worker pool: fills the transaction from the upstream, then hands it to the pipeline.
void RpcHandler::sign_transaction(Call call, bool send, Reply reply) {
  const codec::Address guard = pipeline_.signer().address();
  const std::uint64_t chain_id = *parse_chain(call.chain);
  json tx = call.params[0];
  if (!tx.is_object()) return reply(error(call.id, -32602, "params[0]: expected a transaction object"));
  if (!tx.contains("from")) tx["from"] = codec::to_checksum(guard);
  if (tx.contains("gasLimit") && !tx.contains("gas")) tx["gas"] = tx.at("gasLimit");
  tx.erase("gasLimit");
  const auto fail_upstream = [&](const json& e) { reply(json{{"jsonrpc", "2.0"}, {"id", call.id}, {"error", e}}); };
  if (!tx.contains("nonce")) {
    auto n = upstream(call.chain, "eth_getTransactionCount", json::array({codec::to_checksum(guard), "pending"}));
    if (!n) return fail_upstream(n.error());
    tx["nonce"] = *n;
  }
  if (!tx.contains("gasPrice") && !tx.contains("maxFeePerGas")) {
    auto block = upstream(call.chain, "eth_getBlockByNumber", json::array({"latest", false}));
    if (!block) return fail_upstream(block.error());
    if (block->is_object() && block->contains("baseFeePerGas") && !block->at("baseFeePerGas").is_null()) {
      auto base = codec::json_u256(block->at("baseFeePerGas"), "baseFeePerGas");
      codec::U256 tip = 1'000'000'000;
      if (tx.contains("maxPriorityFeePerGas")) {
        auto t = codec::json_u256(tx.at("maxPriorityFeePerGas"), "params[0].maxPriorityFeePerGas");
        if (!t) return reply(error(call.id, -32602, t.error().message()));
        tip = *t;
      } else if (auto t = upstream(call.chain, "eth_maxPriorityFeePerGas", json::array())) {
        if (auto parsed = codec::json_u256(*t, "tip")) tip = *parsed;
      }
      if (!base) return reply(error(call.id, -32603, "upstream: malformed baseFeePerGas"));
      tx["maxPriorityFeePerGas"] = codec::to_hex_quantity(tip);
      tx["maxFeePerGas"] = codec::to_hex_quantity(*base * 2 + tip);
    } else {
      auto price = upstream(call.chain, "eth_gasPrice", json::array());
      if (!price) return fail_upstream(price.error());
      tx["gasPrice"] = *price;
    }
  } else if (tx.contains("maxFeePerGas") && !tx.contains("maxPriorityFeePerGas")) {
    auto t = upstream(call.chain, "eth_maxPriorityFeePerGas", json::array());
    if (!t) return fail_upstream(t.error());
    tx["maxPriorityFeePerGas"] = *t;
  }
  if (!tx.contains("gas")) {
    json estimate = {{"from", codec::to_checksum(guard)}};
    for (const char* key : {"to", "value", "data", "input"}) {
      if (tx.contains(key)) estimate[key] = tx.at(key);
    }
    auto gas = upstream(call.chain, "eth_estimateGas", json::array({estimate}));
    if (!gas) return fail_upstream(gas.error());
    tx["gas"] = *gas;
  }
  auto txn = transaction_from_rpc(tx, guard, chain_id);
  if (!txn) return reply(error(call.id, -32602, txn.error().message));
  auto request = transaction_request(*txn, pipeline_.policy().policy, call.requester, guard);
  if (!request) return reply(error(call.id, -32602, request.error().message));
  const auto on_decision = call.on_decision;
  const json id = call.id;
  const std::string chain = call.chain;
  pipeline_.sign(std::move(*request), [this, id, chain, send, reply, on_decision](Outcome o) {
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
    boost::asio::post(pool_, [this, id, chain, raw, reply] {
      auto sent = upstream(chain, "eth_sendRawTransaction", json::array({raw}));
      if (sent) return reply(result(id, *sent));
      // A retry of a transaction the node already has: answer its hash.
      const std::string message = sent.error().value("message", "");
      if (message.find("already known") != std::string::npos || message.find("already imported") != std::string::npos) {
        auto bytes = codec::from_hex(raw);
        if (bytes) return reply(result(id, codec::to_hex(codec::keccak256(*bytes))));
      }
      reply(json{{"jsonrpc", "2.0"}, {"id", id}, {"error", sent.error()}});
    });
  });
}

void RpcHandler::sign_request(Call call, SigningRequest request, Reply reply) {
  const json id = call.id;
  const auto on_decision = call.on_decision;
  pipeline_.sign(std::move(request), [id, reply, on_decision](Outcome o) {
    if (o.status != Status::kUnavailable && !o.replayed && on_decision) on_decision(o.decision);
    if (o.status == Status::kUnavailable) {
      return reply(error(id, -32603, "unavailable: nothing was signed", json{{"error", o.error}}));
    }
    if ((o.status != Status::kAllowed && o.status != Status::kApproved) || !o.signature) {
      return reply(json{{"jsonrpc", "2.0"}, {"id", id}, {"error", denial(o)}});
    }
    reply(result(id, codec::to_hex(*o.signature)));
  });
}

}  // namespace txguard::service
