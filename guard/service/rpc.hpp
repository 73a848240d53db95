// JSON-RPC 2.0 at POST /rpc (the chain of the only upstream, or of the policy's account wallet for the
// guard's key) and POST /rpc/{chainId}: so that an ethers or viem wallet whose RPC URL is txguard works
// unchanged.
//
//   eth_accounts, eth_requestAccounts   [the guard's address]
//   eth_chainId, net_version            the endpoint's chain (no upstream call)
//   eth_signTransaction                 fills what is missing, judges, signs: the signed raw transaction
//   eth_sendTransaction                 the same, then eth_sendRawTransaction upstream: the hash
//   eth_signTypedData_v4                judges the typed data, signs its EIP-712 digest (a SafeTx as that
//                                       Safe's transaction, a SafeMessage as that Safe's message:
//                                       requests.hpp typed_data_request)
//   personal_sign, eth_sign             EIP-191 messages: denied unless a rule allows the "message" kind;
//                                       a 32-byte message is always denied ("message-is-a-hash")
//   read-only methods (kForwarded)      forwarded to the upstream node as they are
// Filling (only fields that are absent): nonce = eth_getTransactionCount(from, "pending"); fees =
// eth_maxPriorityFeePerGas and 2 x the latest baseFeePerGas + tip (EIP-1559 chains) or eth_gasPrice;
// gas = eth_estimateGas. The guard signs only as its own address.
//
// Filling never overflows: 2 x baseFeePerGas + tip beyond 2^256-1 is -32602 when the client's tip
// makes it so, -32603 when the upstream's base fee or tip does. Every upstream answer is read strictly
// (a quantity where one is expected, a nonce and gas that fit 64 bits, a block object, a 32-byte hash
// equal to the signed transaction's for eth_sendRawTransaction); anything else is -32603 and nothing
// is signed.
//
// Errors: -32700 parse error, -32600 invalid request (also a batch of more than 100 calls),
// -32601 method not found (or not allowed), -32602 invalid params, -32003 denied or held by policy
// (data: decision_id, status, reasons, rule; a held request carries the hold: approve it, then send
// the same transaction again), -32005 over the client's request rate (a call of a batch beyond the
// client's remaining budget), -32603 unavailable or internal (nothing signed; data.error says why),
// upstream errors passed through when they are well-formed ({code: integer, message: string}).
// No error names an upstream's URL or host (they often carry API keys): "the upstream for chain 1".
//
// No input ends the process: every task this handler posts to the pool and every pipeline callback
// catches what it throws and answers the call -32603; each call is answered exactly once.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "guard/http/client.hpp"
#include "guard/http/server.hpp"
#include "guard/service/pipeline.hpp"
#include "guard/service/requests.hpp"

namespace txguard::service {

class RpcHandler {
 public:
  using Upstreams = std::map<std::string, std::shared_ptr<http::Client>>;
  /// `upstreams` and `pool` must outlive the handler; upstream calls run on `pool`.
  RpcHandler(Pipeline& pipeline, const Upstreams& upstreams, boost::asio::thread_pool& pool)
      : pipeline_(pipeline), upstreams_(upstreams), pool_(pool) {}

  void set_default_chain(std::string chain) { default_chain_ = std::move(chain); }

  /// Takes one more request token from the caller's rate budget; false when none is left.
  using TakeToken = std::function<bool()>;

  /// Answers one HTTP body (a call or a batch). `chain` is the chain id from the path ("" for the
  /// default). `on_decision` sees every new decision (metrics). Rate: the HTTP request paid for one
  /// call; every further call of a batch asks `take_token` (in order, before anything is dispatched):
  /// a call refused a token, and every call after it, answers -32005 without being run. Without
  /// `take_token`, batches are not charged beyond the request.
  void handle(const std::string& body, const std::string& requester, const std::string& chain,
              std::function<void(http::Response)> respond, std::function<void(const nlohmann::json&)> on_decision,
              TakeToken take_token = {});

 private:
  using Reply = std::function<void(nlohmann::json)>;
  struct Call {
    nlohmann::json id;
    std::string method;
    nlohmann::json params;
    std::string requester;
    std::string chain;
    std::function<void(const nlohmann::json&)> on_decision;
  };
  void dispatch(Call call, Reply reply);
  /// Runs `task` on the pool; whatever it throws answers `reply` -32603 for `id` (never terminate).
  void post_guarded(nlohmann::json id, Reply reply, std::function<void()> task);
  /// post_guarded from a pipeline callback: never throws (a failure to post answers at once).
  void on_pool(const nlohmann::json& id, const Reply& reply, std::function<void()> task) noexcept;
  void sign_transaction(Call call, bool send, Reply reply);
  void sign_request(Call call, SigningRequest request, Reply reply);
  std::expected<nlohmann::json, nlohmann::json> upstream(const std::string& chain, const std::string& method,
                                                         const nlohmann::json& params);

  Pipeline& pipeline_;
  const Upstreams& upstreams_;
  boost::asio::thread_pool& pool_;
  std::string default_chain_;
};

}  // namespace txguard::service
