// SourceObserver against real anvil nodes (no mocks). Each test case starts its own anvil(s) on free
// 127.0.0.1 ports, deploys a tiny hand-assembled bridge contract from anvil's unlocked account 0 and
// sends deposits through it.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "guard/http/client.hpp"
#include "guard/service/source_observer.hpp"
#include "policy/codec/event_log.hpp"
#include "tests/support/paths.hpp"

extern char** environ;

using namespace txguard;
using namespace txguard::service;
using nlohmann::json;

namespace {

constexpr std::uint64_t kAnvilChain = 31337;
constexpr const char* kDepositSignature =
    "Deposit(address indexed token,address indexed sender,address recipient,uint256 amount,uint256 destChainId,"
    "uint256 nonce)";
constexpr const char* kAccount0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";  // anvil's test account 0
const std::chrono::milliseconds kTimeout{3000};

std::uint16_t free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

std::string word(std::string_view hex_digits) {
  return std::string(64 - hex_digits.size(), '0') + std::string(hex_digits);
}

// An anvil process; killed (and reaped) on destruction.
class Anvil {
 public:
  Anvil() {
    const std::string bin = txguard::test::source_dir() + "/tests/js/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
    REQUIRE_MESSAGE(std::filesystem::exists(bin), "anvil is missing (" << bin << "): run deploy/setup.sh --test");
    port_ = free_port();
    url_ = "http://127.0.0.1:" + std::to_string(port_);
    const std::string port_text = std::to_string(port_);
    std::vector<std::string> args = {bin, "--host", "127.0.0.1", "--port", port_text, "--silent"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(rc == 0, "cannot start anvil");
    client_ = http::Client::create(url_, std::chrono::milliseconds{1000}).value();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{15};
    while (!client_->post_json(R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]})")) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop();  // the destructor of a half-constructed object does not run
        FAIL("anvil did not answer eth_chainId within 15 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{30});
    }
  }
  ~Anvil() { stop(); }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  Anvil(const Anvil&) = delete;
  Anvil& operator=(const Anvil&) = delete;

  const std::string& url() const { return url_; }

  json rpc(const std::string& method, json params) {
    const json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", std::move(params)}};
    auto body = client_->post_json(request.dump());
    REQUIRE_MESSAGE(body.has_value(), method << ": " << body.error());
    json reply = json::parse(*body);
    REQUIRE_MESSAGE(reply.contains("result"), method << ": " << reply.dump());
    return reply["result"];
  }

  // Sends from account 0 with fixed gas and fees, so that the same sequence of transactions on two
  // anvils gives the same transaction hashes. Returns the hash; anvil mines one block per transaction.
  std::string send(const json& to, const std::string& data) {
    json tx = {{"from", kAccount0},       {"data", data},           {"gas", "0x100000"},
               {"maxFeePerGas", "0x77359400"}, {"maxPriorityFeePerGas", "0x1"}};
    if (!to.is_null()) tx["to"] = to;
    const std::string hash = rpc("eth_sendTransaction", json::array({tx})).get<std::string>();
    (void)receipt(hash);  // anvil may answer before it has mined the block
    return hash;
  }

  // The receipt, waiting (bounded) for anvil to mine it.
  json receipt(const std::string& tx) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    while (true) {
      json r = rpc("eth_getTransactionReceipt", json::array({tx}));
      if (!r.is_null()) return r;
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "no receipt for " << tx);
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }
  void mine(std::uint64_t blocks) { rpc("anvil_mine", json::array({codec::to_hex_quantity(blocks)})); }

  // The bridge contract; returns its address.
  std::string deploy();

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string url_;
  std::unique_ptr<http::Client> client_;
};

// Runtime code of the test bridge. Calldata: token, recipient, amount, destChainId, nonce (five ABI
// words, no selector). Emits Deposit(token indexed, msg.sender indexed, recipient, amount,
// destChainId, nonce) with LOG3; reverts when the calldata is shorter than 160 bytes.
//   00 36        CALLDATASIZE
//   01 60a0      PUSH1 0xa0
//   03 11        GT                 ; 160 > calldatasize
//   04 6039      PUSH1 0x39
//   06 57        JUMPI              ; -> revert
//   07 6080      PUSH1 0x80         ; size
//   09 6020      PUSH1 0x20         ; calldata offset (skip the token)
//   0b 6000      PUSH1 0x00         ; memory offset
//   0d 37        CALLDATACOPY       ; memory[0..128] = recipient, amount, destChainId, nonce
//   0e 33        CALLER             ; topic 2: sender
//   0f 6000      PUSH1 0x00
//   11 35        CALLDATALOAD       ; topic 1: token (as given: the test can make it dirty)
//   12 7f<32>    PUSH32 topic0      ; keccak256("Deposit(address,address,address,uint256,uint256,uint256)")
//   33 6080      PUSH1 0x80
//   35 6000      PUSH1 0x00
//   37 a3        LOG3
//   38 00        STOP
//   39 5b        JUMPDEST
//   3a 6000      PUSH1 0x00
//   3c 6000      PUSH1 0x00
//   3e fd        REVERT
// Init code (12 bytes), then the runtime:
//   PUSH1 0x3f  DUP1  PUSH1 0x0c  PUSH1 0x00  CODECOPY  PUSH1 0x00  RETURN  INVALID
//   603f 80 600c 6000 39 6000 f3 fe
std::string bridge_creation_code() {
  const auto topic0 = codec::parse_event_signature(kDepositSignature).value().topic0;
  const std::string runtime =
      "3660a0116039576080602060003733600035" + std::string("7f") + codec::to_hex_bare(topic0) + "60806000a3005b60006000fd";
  REQUIRE(runtime.size() == 2 * 0x3f);
  return "0x603f80600c6000396000f3fe" + runtime;
}

std::string Anvil::deploy() {
  const std::string tx = send(nullptr, bridge_creation_code());
  const json r = receipt(tx);
  REQUIRE(r.at("status") == "0x1");
  return r.at("contractAddress").get<std::string>();
}

std::string deposit_calldata(std::uint64_t nonce, std::string token = "1111111111111111111111111111111111111111") {
  return "0x" + word(token) + word("3333333333333333333333333333333333333333") + word("3e8") + word("a") +
         word(codec::to_hex_bare(codec::u256_to_be_min(nonce)));
}

DepositQuery query_for(const std::string& tx, const std::string& contract, std::uint64_t log_index = 0) {
  DepositQuery q;
  q.chain_id = kAnvilChain;
  q.tx_hash = codec::from_hex_fixed<32>(tx).value();
  q.log_index = log_index;
  q.contract = codec::parse_address(contract).value();
  q.event = codec::parse_event_signature(kDepositSignature).value();
  return q;
}

std::unique_ptr<SourceObserver> observer(std::vector<std::string> urls, std::uint64_t chain = kAnvilChain) {
  auto o = SourceObserver::create({{chain, std::move(urls)}}, kTimeout);
  REQUIRE_MESSAGE(o.has_value(), (o ? "" : o.error()));
  return std::move(*o);
}

// An anvil with the bridge deployed and one deposit (nonce 7) sent.
struct Deployed {
  Anvil anvil;
  std::string contract;
  std::string tx;
  Deployed() {
    contract = anvil.deploy();
    tx = anvil.send(contract, deposit_calldata(7));
  }
};

std::string closed_port_url() { return "http://127.0.0.1:" + std::to_string(free_port()); }

}  // namespace

TEST_SUITE("source_observer") {

TEST_CASE("confirms a deposit with one confirmation and decodes its event and receipt") {
  Deployed d;
  const Observation o = observer({d.anvil.url()})->observe(query_for(d.tx, d.contract));
  INFO(o.detail);
  CHECK(o.status == ObservationStatus::kConfirmed);
  CHECK(o.reason == "deposit-confirmed");
  CHECK(o.confirmations == 1);
  const json expected_event = {{"token", "0x1111111111111111111111111111111111111111"},
                               {"sender", kAccount0},
                               {"recipient", "0x3333333333333333333333333333333333333333"},
                               {"amount", "1000"},
                               {"destChainId", "10"},
                               {"nonce", "7"}};
  CHECK(o.event == expected_event);
  const json r = d.anvil.receipt(d.tx);
  CHECK(o.receipt.at("transactionHash") == d.tx);
  CHECK(o.receipt.at("blockHash") == r.at("blockHash"));
  CHECK(o.receipt.at("blockNumber") == r.at("blockNumber"));
  CHECK(o.receipt.at("status") == "0x1");
  CHECK(o.receipt.at("from") == kAccount0);
  CHECK(o.receipt.at("to") == codec::to_checksum(codec::parse_address(d.contract).value()));
  CHECK(o.receipt.at("log").at("topics").size() == 3);
  CHECK(o.receipt.at("log").at("logIndex") == "0x0");
  CHECK(o.block_number == 2);  // block 1 deployed the bridge
  CHECK(codec::to_hex(o.block_hash) == r.at("blockHash"));
  CHECK(o.endpoints.size() == 1);
  CHECK_FALSE(o.finalized_block.has_value());
}

TEST_CASE("holds a deposit below the required confirmations until blocks are mined") {
  Deployed d;
  const auto obs = observer({d.anvil.url()});
  DepositQuery q = query_for(d.tx, d.contract);
  q.confirmations = 3;
  Observation o = obs->observe(q);
  CHECK(o.status == ObservationStatus::kUnconfirmed);
  CHECK(o.reason == "deposit-unconfirmed");
  CHECK(o.confirmations == 1);
  CHECK(o.event.at("nonce") == "7");  // the deposit is there, only not settled
  d.anvil.rpc("evm_mine", json::array());
  o = obs->observe(q);
  CHECK(o.status == ObservationStatus::kUnconfirmed);  // 2 of 3: one short
  CHECK(o.confirmations == 2);
  d.anvil.rpc("evm_mine", json::array());
  o = obs->observe(q);
  CHECK(o.status == ObservationStatus::kConfirmed);
  CHECK(o.confirmations == 3);
}

TEST_CASE("in finalized mode confirms only at or below the finalized block") {
  Deployed d;
  const auto obs = observer({d.anvil.url()});
  DepositQuery q = query_for(d.tx, d.contract);
  q.finalized = true;
  Observation o = obs->observe(q);
  CHECK(o.status == ObservationStatus::kUnconfirmed);
  REQUIRE(o.finalized_block.has_value());
  CHECK(*o.finalized_block < o.block_number);
  // anvil's finalized block is head - 64: 63 more blocks leave the deposit one above it.
  d.anvil.mine(63);
  o = obs->observe(q);
  CHECK(o.status == ObservationStatus::kUnconfirmed);
  CHECK(*o.finalized_block + 1 == o.block_number);
  d.anvil.mine(1);
  o = obs->observe(q);
  CHECK(o.status == ObservationStatus::kConfirmed);
  CHECK(*o.finalized_block == o.block_number);
}

TEST_CASE("reports not found for an unknown transaction hash") {
  Deployed d;
  const Observation o = observer({d.anvil.url()})->observe(query_for("0x" + std::string(64, '1'), d.contract));
  CHECK(o.status == ObservationStatus::kNotFound);
  CHECK(o.reason == "deposit-not-found");
  CHECK(o.receipt.is_null());
  CHECK(o.event.is_null());
}

TEST_CASE("reports not found for a log index without a log") {
  Deployed d;
  const Observation o = observer({d.anvil.url()})->observe(query_for(d.tx, d.contract, 1));
  CHECK(o.status == ObservationStatus::kNotFound);
  CHECK(o.detail.find("no log with index 1") != std::string::npos);
  CHECK(o.event.is_null());
  CHECK(o.receipt.at("log").is_null());
}

TEST_CASE("reports not found for a log from another contract") {
  Deployed d;
  const std::string other = d.anvil.deploy();  // the same code elsewhere: not the configured bridge
  const std::string tx = d.anvil.send(other, deposit_calldata(8));
  const Observation o = observer({d.anvil.url()})->observe(query_for(tx, d.contract));
  CHECK(o.status == ObservationStatus::kNotFound);
  CHECK(o.detail.find("not the bridge contract") != std::string::npos);
  CHECK(o.event.is_null());
}

TEST_CASE("reports not found for a log of another event") {
  Deployed d;
  DepositQuery q = query_for(d.tx, d.contract);
  q.event = codec::parse_event_signature(
                "Deposit(address indexed token,address indexed sender,address recipient,uint256 amount,uint64 "
                "destChainId,uint256 nonce)")
                .value();
  Observation o = observer({d.anvil.url()})->observe(q);
  CHECK(o.status == ObservationStatus::kNotFound);
  CHECK(o.detail.find("is not Deposit(") != std::string::npos);
  // The event's topic0 but a dirty indexed token word: not a decodable Deposit either.
  const std::string dirty = d.anvil.send(d.contract, deposit_calldata(9, "ff1111111111111111111111111111111111111111"));
  o = observer({d.anvil.url()})->observe(query_for(dirty, d.contract));
  CHECK(o.status == ObservationStatus::kNotFound);
  CHECK(o.detail.find("dirty-padding") != std::string::npos);
}

TEST_CASE("reports not found for a reverted transaction") {
  Deployed d;
  const std::string tx = d.anvil.send(d.contract, "0x" + word("1"));  // too short: the bridge reverts
  REQUIRE(d.anvil.receipt(tx).at("status") == "0x0");
  const Observation o = observer({d.anvil.url()})->observe(query_for(tx, d.contract));
  CHECK(o.status == ObservationStatus::kNotFound);
  CHECK(o.detail.find("reverted") != std::string::npos);
  CHECK(o.receipt.at("status") == "0x0");
}

TEST_CASE("confirms when two endpoints on the same node agree") {
  Deployed d;
  const Observation o = observer({d.anvil.url(), d.anvil.url()})->observe(query_for(d.tx, d.contract));
  CHECK(o.status == ObservationStatus::kConfirmed);
  REQUIRE(o.endpoints.size() == 2);
  CHECK(o.endpoints[0].at("receipt") == o.endpoints[1].at("receipt"));
}

TEST_CASE("reports disagreement when a second node never saw the deposit") {
  Deployed d;
  Anvil other;
  other.deploy();  // same contract address (same sender and nonce), no deposit
  const Observation o = observer({d.anvil.url(), other.url()})->observe(query_for(d.tx, d.contract));
  CHECK(o.status == ObservationStatus::kDisagree);
  CHECK(o.reason == "source-disagree");
  CHECK(o.detail.find("no receipt") != std::string::npos);
  CHECK(o.event.is_null());
}

TEST_CASE("reports disagreement when two nodes put the deposit in different blocks") {
  Deployed d;
  Anvil other;
  other.mine(1);  // shifts every later block by one
  const std::string contract = other.deploy();
  const std::string tx = other.send(contract, deposit_calldata(7));
  REQUIRE(contract == d.contract);
  REQUIRE(tx == d.tx);  // fixed gas and fees: the very same transaction
  const Observation o = observer({d.anvil.url(), other.url()})->observe(query_for(d.tx, d.contract));
  CHECK(o.status == ObservationStatus::kDisagree);
  CHECK(o.detail.find("block 0x2") != std::string::npos);
}

TEST_CASE("reports unreachable when one endpoint is down, whatever the others say") {
  Deployed d;
  const std::string down = closed_port_url();
  const Observation o = observer({d.anvil.url(), down})->observe(query_for(d.tx, d.contract));
  CHECK(o.status == ObservationStatus::kUnreachable);
  CHECK(o.reason == "source-unreachable");
  CHECK(o.detail.find("endpoint 1") != std::string::npos);
  REQUIRE(o.endpoints.size() == 2);
  CHECK(o.endpoints[1].contains("error"));
  CHECK(o.endpoints[0].contains("receipt"));  // the reachable one's answer is recorded, not used
  CHECK(o.event.is_null());
}

TEST_CASE("reports unreachable when no endpoint is configured for the chain") {
  Deployed d;
  DepositQuery q = query_for(d.tx, d.contract);
  q.chain_id = 1;
  const Observation o = observer({d.anvil.url()})->observe(q);
  CHECK(o.status == ObservationStatus::kUnreachable);
  CHECK(o.detail.find("no RPC endpoint configured for source chain 1") != std::string::npos);
  CHECK(observer({}, kAnvilChain)->observe(query_for(d.tx, d.contract)).status == ObservationStatus::kUnreachable);
}

TEST_CASE("reports an endpoint on another chain as misconfigured") {
  Deployed d;
  DepositQuery q = query_for(d.tx, d.contract);
  q.chain_id = 1;
  const Observation o = observer({d.anvil.url()}, 1)->observe(q);
  CHECK(o.status == ObservationStatus::kDisagree);
  CHECK(o.detail.find("is on chain 31337, not 1 (misconfigured)") != std::string::npos);
}

TEST_CASE("never records an endpoint's path, user info or query") {
  Deployed d;
  // The path and query stand for an API key (anvil answers 404 on that path, so both endpoints fail:
  // their errors must not leak the URL either).
  const std::string secret_url = d.anvil.url() + "/v3/SECRETKEY?apikey=SECRET2";
  const std::string down = closed_port_url() + "/v2/SECRET3?key=SECRET4";
  const Observation o = observer({secret_url, down})->observe(query_for(d.tx, d.contract));
  CHECK(o.status == ObservationStatus::kUnreachable);
  const std::string recorded = to_json(o).dump();
  CHECK(recorded.find("SECRET") == std::string::npos);
  auto bad = SourceObserver::create({{kAnvilChain, {"http://user:SECRET5@127.0.0.1:1/x?k=SECRET6"}}}, kTimeout);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().find("SECRET") == std::string::npos);
  CHECK(bad.error().find("endpoint 0") != std::string::npos);
}

TEST_CASE("an observation survives the decision log's JSON round trip exactly") {
  Deployed d;
  DepositQuery q = query_for(d.tx, d.contract);
  q.finalized = true;
  const auto obs = observer({d.anvil.url(), d.anvil.url()});
  for (const Observation& o : {obs->observe(q), obs->observe(query_for(d.tx, d.contract, 5)),
                               observer({closed_port_url()})->observe(q)}) {
    const json j = to_json(o);
    auto back = observation_from_json(json::parse(j.dump()));
    REQUIRE_MESSAGE(back.has_value(), (back ? "" : back.error()));
    CHECK(*back == o);
    CHECK(to_json(*back) == j);
  }
}

TEST_CASE("rejects a recorded observation that is malformed") {
  Deployed d;
  const json good = to_json(observer({d.anvil.url()})->observe(query_for(d.tx, d.contract)));
  REQUIRE(observation_from_json(good).has_value());
  const auto broken = [&](const std::function<void(json&)>& edit) {
    json j = good;
    edit(j);
    return !observation_from_json(j).has_value();
  };
  CHECK(broken([](json& j) { j["status"] = "allowed"; }));
  CHECK(broken([](json& j) { j["reason"] = "deposit-not-found"; }));  // does not match the status
  CHECK(broken([](json& j) { j.erase("receipt"); }));
  CHECK(broken([](json& j) { j["extra"] = 1; }));
  CHECK(broken([](json& j) { j["block_number"] = -1; }));
  CHECK(broken([](json& j) { j["block_number"] = "2"; }));
  CHECK(broken([](json& j) { j["block_hash"] = "0x1234"; }));
  CHECK(broken([](json& j) { j["block_hash"] = "0x" + std::string(64, 'A'); }));  // not lower-case
  CHECK(broken([](json& j) { j["finalized_block"] = "0"; }));
  CHECK(broken([](json& j) { j["endpoints"] = json::object(); }));
  CHECK(broken([](json& j) { j["event"] = "x"; }));
  CHECK_FALSE(observation_from_json(json::array()).has_value());
}

}  // TEST_SUITE
