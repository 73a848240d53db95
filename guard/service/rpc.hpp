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
// Errors: -32700 parse error, -32600 invalid request, -32601 method not found (or not allowed),
// -32602 invalid params, -32003 denied or held by policy (data: decision_id, status, reasons, rule;
// a held request carries the hold: approve it, then send the same transaction again), -32603
// unavailable (nothing signed; data.error says why), upstream errors passed through.
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

  /// Answers one HTTP body (a call or a batch). `chain` is the chain id from the path ("" for the
  /// default). `on_decision` sees every new decision (metrics).
  void handle(const std::string& body, const std::string& requester, const std::string& chain,
              std::function<void(http::Response)> respond, std::function<void(const nlohmann::json&)> on_decision);

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
