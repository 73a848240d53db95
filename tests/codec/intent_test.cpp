#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "policy/codec/abi_registry.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"

using namespace txguard::codec;
using nlohmann::json;

namespace {

Address addr(std::string_view text) { return parse_address(text).value(); }
Hash32 h32(std::string_view hex) { return from_hex_fixed<32>(hex).value(); }

const Address kSafe = addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4");
const Address kToken = addr("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");  // USDC
const Address kAlice = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const Address kBob = addr("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
// On the OFAC SDN list (Lazarus Group), fixtures/sanctions/ofac/sanctioned_addresses_ETH.txt.
const Address kSanctioned = addr("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
const Address kMultiSendCallOnly141 = addr("0x9641d764fc13c8B624c04430C7356C1C7C8102e2");
const Address kMultiSend141 = addr("0x38869bf66a61cF6bDB996A6aE40D5853Fd43B526");
const U256 kMax = ~U256(0);
const Bytes kNoData;

const AbiFunction& fn(std::string_view signature, std::string_view tag) {
  const auto sel = selector_of(signature);
  for (const AbiFunction* f : FunctionRegistry::builtin().lookup(sel)) {
    if (f->signature == signature && f->interface_tag == tag) return *f;
  }
  FAIL("no built-in function " << signature);
  throw std::logic_error("unreachable");
}

Bytes erc20_transfer(const Address& to, const U256& amount) {
  const AbiValue args[] = {AbiValue::address(to), AbiValue::uint(amount)};
  return encode_call(fn("transfer(address,uint256)", "erc20"), args);
}

Bytes multisend_call(std::span<const MultiSendItem> items) {
  const AbiValue args[] = {AbiValue::bytes(encode_multisend(items))};
  return encode_call(fn("multiSend(bytes)", "multisend"), args);
}

SafeTxRequest safe_request(const Address& to, Bytes data, Operation op = Operation::kCall, U256 value = 0,
                           SafeVersion version = SafeVersion::k1_4_1) {
  SafeTxRequest r;
  r.tx.to = to;
  r.tx.data = std::move(data);
  r.tx.operation = op;
  r.tx.value = value;
  r.tx.nonce = 5;
  r.domain = SafeDomain{version, 1, kSafe};
  return r;
}

Intent build(const SafeTxRequest& r, const IntentContext& ctx = {}) {
  auto intent = intent_from_safe_request(r, ctx);
  REQUIRE_MESSAGE(intent.has_value(), intent.error().message());
  return *intent;
}

bool touches(const Intent& intent, const Address& a) {
  return std::find(intent.addresses.begin(), intent.addresses.end(), a) != intent.addresses.end();
}

const Grant* find_grant(const Intent& intent, GrantKind kind) {
  for (const auto& g : intent.grants) {
    if (g.kind == kind) return &g;
  }
  return nullptr;
}

// The item views `data`: pass a named buffer that outlives the item.
MultiSendItem item(Operation op, const Address& to, const U256& value, const Bytes& data = kNoData) {
  MultiSendItem i;
  i.operation = op;
  i.to = to;
  i.value = value;
  i.data = data;
  return i;
}

using txguard::test::load_fixture;

}  // namespace

TEST_SUITE("intent") {
  TEST_CASE("the Bybit SafeTx is a DELEGATECALL grant to an unknown contract, not a token transfer") {
    const json bybit = load_fixture("safe/safe-facts.json")["eip712"]["worked_example_bybit"];
    SafeTxRequest r = safe_request(addr("0x96221423681A6d52E184D440a8eFCEbB105C7242"),
                                   erc20_transfer(addr("0xbDd077f651EBe7f7b3cE16fe5F2b025BE2969516"), 0),
                                   Operation::kDelegateCall, 0, SafeVersion::k1_1_1);
    r.tx.safe_tx_gas = 45746;
    r.tx.nonce = 71;
    r.claimed_hash = h32(bybit["safeTxHash"].get<std::string>());
    const Intent intent = build(r);
    CHECK(to_hex(*intent.safe_txs[0].safe_tx_hash) == bybit["safeTxHash"].get<std::string>());
    REQUIRE(intent.calls.size() == 1);
    CHECK(intent.calls[0].operation == Operation::kDelegateCall);
    CHECK(!intent.calls[0].library.has_value());
    const Grant* g = find_grant(intent, GrantKind::kDelegateCall);
    REQUIRE(g != nullptr);
    CHECK(g->grantor == kSafe);
    CHECK(g->grantee == addr("0x96221423681A6d52E184D440a8eFCEbB105C7242"));
    // The function name says "transfer", but under DELEGATECALL it moves no token.
    CHECK(intent.transfers.empty());
    CHECK(touches(intent, addr("0xbDd077f651EBe7f7b3cE16fe5F2b025BE2969516")));
  }

  TEST_CASE("a client-claimed safeTxHash that differs from the fields is refused") {
    SafeTxRequest r = safe_request(kAlice, {}, Operation::kCall, 1);
    r.claimed_hash = h32("0x" + std::string(64, 'a'));
    auto intent = intent_from_safe_request(r);
    REQUIRE(!intent);
    CHECK(intent.error().code == DecodeErrc::kInvalidField);
    CHECK(intent.error().where == "$.safeTxHash");
  }

  TEST_CASE("a MultiSend batch hiding a transfer to a sanctioned address shows it") {
    const Bytes t1 = erc20_transfer(kAlice, 100);
    const Bytes t3 = erc20_transfer(kSanctioned, 5000);
    const MultiSendItem items[] = {item(Operation::kCall, kToken, 0, t1), item(Operation::kCall, kBob, 7),
                                   item(Operation::kCall, kToken, 0, t3)};
    const Intent intent = build(safe_request(kMultiSendCallOnly141, multisend_call(items), Operation::kDelegateCall));
    REQUIRE(intent.calls.size() == 4);
    CHECK(intent.calls[0].library == SafeLibrary::kMultiSendCallOnly);
    for (std::size_t i = 1; i < 4; ++i) {
      CHECK(intent.calls[i].depth == 1);
      CHECK(intent.calls[i].parent == std::optional<std::size_t>(0));
      CHECK(intent.calls[i].via == CallVia::kMultiSend);
      CHECK(intent.calls[i].from == kSafe);  // reached by DELEGATECALL: the Safe's own calls
    }
    REQUIRE(intent.transfers.size() == 3);
    CHECK(intent.transfers[0].kind == TransferKind::kErc20);
    CHECK(intent.transfers[1].kind == TransferKind::kNative);
    CHECK(intent.transfers[1].to == kBob);
    CHECK(intent.transfers[2].to == kSanctioned);
    CHECK(intent.transfers[2].amount == 5000);
    CHECK(intent.transfers[2].from == kSafe);
    CHECK(touches(intent, kSanctioned));
  }

  TEST_CASE("a batch reached by CALL runs as the MultiSend contract, not as the Safe") {
    const MultiSendItem items[] = {item(Operation::kCall, kBob, 1)};
    const Intent intent = build(safe_request(kMultiSendCallOnly141, multisend_call(items), Operation::kCall));
    REQUIRE(intent.calls.size() == 2);
    CHECK(intent.calls[1].from == kMultiSendCallOnly141);
  }

  TEST_CASE("a multiSend call to a non-canonical contract is not expanded as a batch") {
    const MultiSendItem items[] = {item(Operation::kCall, kBob, 1)};
    const Address fake = addr("0x96221423681A6d52E184D440a8eFCEbB105C7242");
    const Intent intent = build(safe_request(fake, multisend_call(items), Operation::kDelegateCall));
    CHECK(intent.calls.size() == 1);
    CHECK(find_grant(intent, GrantKind::kDelegateCall)->grantee == fake);
    IntentContext ctx;
    ctx.extra_multisend.push_back(fake);
    CHECK(build(safe_request(fake, multisend_call(items), Operation::kDelegateCall), ctx).calls.size() == 2);
  }

  TEST_CASE("DELEGATECALL items inside a MultiSend batch are grants too") {
    const Bytes unknown_call = {0x12, 0x34, 0x56, 0x78};
    const MultiSendItem items[] = {item(Operation::kDelegateCall, kBob, 0, unknown_call)};
    const Intent intent = build(safe_request(kMultiSend141, multisend_call(items), Operation::kDelegateCall));
    std::size_t delegatecalls = 0;
    for (const auto& g : intent.grants) delegatecalls += g.kind == GrantKind::kDelegateCall;
    CHECK(delegatecalls == 2);
    CHECK(intent.calls[1].unknown_selector);
  }

  TEST_CASE("Safe self-calls that change owners, threshold, modules or guards are configuration grants") {
    const AbiValue add_args[] = {AbiValue::address(kSanctioned), AbiValue::uint(1)};
    const Intent add = build(safe_request(kSafe, encode_call(fn("addOwnerWithThreshold(address,uint256)", "safe"), add_args)));
    const Grant* g = find_grant(add, GrantKind::kSafeAddOwner);
    REQUIRE(g != nullptr);
    CHECK(is_configuration_change(g->kind));
    CHECK(g->grantor == kSafe);
    CHECK(g->grantee == kSanctioned);
    CHECK(g->amount == U256(1));

    const AbiValue guard_args[] = {AbiValue::address(Address{})};
    const Intent guard = build(safe_request(kSafe, encode_call(fn("setGuard(address)", "safe"), guard_args)));
    REQUIRE(find_grant(guard, GrantKind::kSafeSetGuard) != nullptr);
    CHECK(find_grant(guard, GrantKind::kSafeSetGuard)->revocation);

    // The same call to a different contract is not the wallet's configuration.
    const Intent other = build(safe_request(kBob, encode_call(fn("addOwnerWithThreshold(address,uint256)", "safe"), add_args)));
    CHECK(find_grant(other, GrantKind::kSafeAddOwner) == nullptr);
  }

  TEST_CASE("a configuration change hidden in a batch item calling the Safe itself is found") {
    const AbiValue args[] = {AbiValue::uint(1)};
    const Bytes change = encode_call(fn("changeThreshold(uint256)", "safe"), args);
    const MultiSendItem items[] = {item(Operation::kCall, kBob, 1), item(Operation::kCall, kSafe, 0, change)};
    const Intent intent = build(safe_request(kMultiSendCallOnly141, multisend_call(items), Operation::kDelegateCall));
    const Grant* g = find_grant(intent, GrantKind::kSafeChangeThreshold);
    REQUIRE(g != nullptr);
    CHECK(g->call == std::optional<std::size_t>(2));
  }

  TEST_CASE("an unknown selector is reported unknown, never guessed") {
    const Intent intent = build(safe_request(kBob, {0xde, 0xad, 0xbe, 0xef, 0x00}));
    CHECK(intent.calls[0].unknown_selector);
    CHECK(intent.calls[0].functions.empty());
    CHECK(intent.transfers.empty());
    CHECK(intent.grants.empty());
  }

  TEST_CASE("transferFrom is reported as ERC-20 or ERC-721 with both candidates") {
    const AbiValue args[] = {AbiValue::address(kAlice), AbiValue::address(kBob), AbiValue::uint(42)};
    const Intent intent = build(safe_request(kToken, encode_call(fn("transferFrom(address,address,uint256)", "erc20"), args)));
    CHECK(intent.calls[0].functions.size() == 2);
    REQUIRE(intent.transfers.size() == 1);
    CHECK(intent.transfers[0].kind == TransferKind::kErc20OrErc721);
    CHECK(intent.transfers[0].from == kAlice);
    CHECK(intent.transfers[0].to == kBob);
    CHECK(intent.transfers[0].amount == 42);
  }

  TEST_CASE("an unlimited approve is an unlimited grant; approve 0 is a revocation") {
    const AbiValue unlimited[] = {AbiValue::address(kBob), AbiValue::uint(kMax)};
    const Intent intent = build(safe_request(kToken, encode_call(fn("approve(address,uint256)", "erc20"), unlimited)));
    const Grant* g = find_grant(intent, GrantKind::kApprove);
    REQUIRE(g != nullptr);
    CHECK(g->unlimited);
    CHECK(g->grantee == kBob);
    CHECK(g->asset == kToken);
    const AbiValue limited[] = {AbiValue::address(kBob), AbiValue::uint(kMax - 1)};
    CHECK(!find_grant(build(safe_request(kToken, encode_call(fn("approve(address,uint256)", "erc20"), limited))),
                      GrantKind::kApprove)->unlimited);
  }

  TEST_CASE("Permit2 approve is a grant with the uint160 maximum as unlimited") {
    const U256 max160 = (U256(1) << 160) - 1;
    const AbiValue args[] = {AbiValue::address(kToken), AbiValue::address(kBob), AbiValue::uint(max160), AbiValue::uint(0)};
    const Address permit2 = addr("0x000000000022D473030F116dDEE9F6B43aC78BA3");
    const Intent intent = build(safe_request(permit2, encode_call(fn("approve(address,address,uint160,uint48)", "permit2"), args)));
    const Grant* g = find_grant(intent, GrantKind::kPermit2);
    REQUIRE(g != nullptr);
    CHECK(g->unlimited);
    CHECK(g->asset == kToken);
    CHECK(g->grantee == kBob);
  }

  TEST_CASE("a gas refund paid by the Safe is a movement of value, unbounded when safeTxGas is 0") {
    SafeTxRequest r = safe_request(kBob, {}, Operation::kCall, 0);
    r.tx.gas_price = 10;
    r.tx.base_gas = 5;
    r.tx.refund_receiver = kSanctioned;
    Intent intent = build(r);
    REQUIRE(intent.transfers.size() == 1);
    CHECK(intent.transfers[0].kind == TransferKind::kGasRefund);
    CHECK(intent.transfers[0].unbounded);
    CHECK(intent.transfers[0].to == kSanctioned);
    CHECK(touches(intent, kSanctioned));
    r.tx.safe_tx_gas = 100;
    r.tx.gas_token = kToken;
    intent = build(r);
    CHECK(!intent.transfers[0].unbounded);
    CHECK(intent.transfers[0].amount == 1050);
    CHECK(intent.transfers[0].asset == kToken);
    r.tx.gas_price = 0;
    CHECK(build(r).transfers.empty());
  }

  TEST_CASE("an execTransaction carried by a transaction is decoded, and its signers recovered when the Safe is known") {
    const SecretKey owner(h32("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"));
    const Address inner_safe = addr("0xcafe000000000000000000000000000000000001");
    SafeTx inner;
    inner.to = kToken;
    inner.data = erc20_transfer(kSanctioned, 9);
    inner.nonce = 3;
    const Hash32 hash = safe_tx_hash(inner, SafeDomain{SafeVersion::k1_4_1, 1, inner_safe});
    const auto sig = sign_digest(hash, owner).value().to_rsv(27);
    const AbiValue args[] = {AbiValue::address(inner.to), AbiValue::uint(0), AbiValue::bytes(inner.data), AbiValue::uint(0),
                             AbiValue::uint(0), AbiValue::uint(0), AbiValue::uint(0), AbiValue::address(Address{}),
                             AbiValue::address(Address{}), AbiValue::bytes(Bytes(sig.begin(), sig.end()))};
    Transaction txn;
    txn.type = TxnType::kDynamicFee;
    txn.chain_id = 1;
    txn.to = inner_safe;
    txn.data = encode_call(fn("execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)", "safe"), args);
    txn.from = kAlice;

    auto unknown = intent_from_transaction(txn);
    REQUIRE(unknown.has_value());
    REQUIRE(unknown->safe_txs.size() == 1);
    CHECK(!unknown->safe_txs[0].safe_tx_hash.has_value());
    CHECK(!unknown->safe_txs[0].signatures->items[0].owner.has_value());
    REQUIRE(unknown->calls.size() == 2);
    CHECK(unknown->calls[1].from == inner_safe);
    CHECK(unknown->calls[1].depth == 1);
    CHECK(unknown->calls[0].safe_tx == std::optional<std::size_t>(0));
    CHECK(unknown->transfers.at(0).to == kSanctioned);
    CHECK(unknown->transfers.at(0).from == inner_safe);

    IntentContext ctx;
    ctx.safes[inner_safe] = {SafeVersion::k1_4_1, U256(3)};
    auto known = intent_from_transaction(txn, ctx);
    REQUIRE(known.has_value());
    CHECK(known->safe_txs[0].safe_tx_hash == hash);
    CHECK(known->safe_txs[0].signatures->items[0].owner == address_of(owner));
    CHECK(touches(*known, *address_of(owner)));
  }

  TEST_CASE("calldata that does not decode under its known function is recorded on the call, not dropped") {
    Bytes data = erc20_transfer(kBob, 1);
    data[4] = 0x01;  // dirty high byte of the address word
    const Intent intent = build(safe_request(kToken, data));
    REQUIRE(intent.calls[0].decode_error.has_value());
    CHECK(intent.calls[0].decode_error->code == DecodeErrc::kDirtyPadding);
    CHECK(intent.transfers.empty());
    const Intent short_data = build(safe_request(kToken, {0xa9, 0x05}));
    CHECK(short_data.calls[0].decode_error->code == DecodeErrc::kInputTooShort);
  }

  TEST_CASE("bytes hidden after the arguments are counted") {
    Bytes data = erc20_transfer(kBob, 1);
    data.insert(data.end(), {0xba, 0xad});
    CHECK(build(safe_request(kToken, data)).calls[0].trailing_bytes == 2);
  }

  TEST_CASE("batches nested beyond the depth bound fail with too-deep") {
    Bytes data = erc20_transfer(kBob, 1);
    Address target = kToken;
    Operation op = Operation::kCall;
    for (int i = 0; i < 20; ++i) {
      const MultiSendItem items[] = {item(op, target, 0, data)};
      data = multisend_call(items);
      target = kMultiSend141;
      op = Operation::kDelegateCall;
    }
    auto intent = intent_from_safe_request(safe_request(kMultiSend141, data, Operation::kDelegateCall));
    REQUIRE(!intent);
    CHECK(intent.error().code == DecodeErrc::kTooDeep);
  }

  TEST_CASE("contract creation has no target and no decoded function") {
    Transaction txn;
    txn.type = TxnType::kDynamicFee;
    txn.chain_id = 1;
    txn.value = 3;
    txn.data = {0x60, 0x80, 0x60, 0x40, 0x52};
    auto intent = intent_from_transaction(txn);
    REQUIRE(intent.has_value());
    CHECK(!intent->calls[0].target.has_value());
    CHECK(!intent->calls[0].selector.has_value());
    CHECK(!intent->wallet.has_value());
    REQUIRE(intent->transfers.size() == 1);
    CHECK(!intent->transfers[0].to.has_value());
  }

  TEST_CASE("EIP-7702 authorizations are delegation grants from each recovered authority") {
    const json vectors = load_fixture("tx-vectors/generated/eip7702_generated.json")["vectors"];
    std::size_t grants = 0;
    for (const auto& v : vectors) {
      auto txn = decode_transaction(from_hex(v["raw"].get<std::string>()).value());
      REQUIRE(txn.has_value());
      auto intent = intent_from_transaction(*txn);
      REQUIRE(intent.has_value());
      for (const auto& g : intent->grants) {
        if (g.kind != GrantKind::kDelegation) continue;
        ++grants;
        CHECK(g.grantor == addr("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
        CHECK(touches(*intent, *g.grantee));
      }
    }
    CHECK(grants >= 3);
  }

  TEST_CASE("an ERC-2612 Permit in typed data is a grant to its spender") {
    const json request = {
        {"types",
         {{"EIP712Domain", json::array({{{"name", "name"}, {"type", "string"}}, {{"name", "version"}, {"type", "string"}},
                                        {{"name", "chainId"}, {"type", "uint256"}}, {{"name", "verifyingContract"}, {"type", "address"}}})},
          {"Permit", json::array({{{"name", "owner"}, {"type", "address"}}, {{"name", "spender"}, {"type", "address"}},
                                  {{"name", "value"}, {"type", "uint256"}}, {{"name", "nonce"}, {"type", "uint256"}},
                                  {{"name", "deadline"}, {"type", "uint256"}}})}}},
        {"primaryType", "Permit"},
        {"domain", {{"name", "USD Coin"}, {"version", "2"}, {"chainId", 1}, {"verifyingContract", to_checksum(kToken)}}},
        {"message", {{"owner", to_checksum(kAlice)}, {"spender", to_checksum(kSanctioned)}, {"value", to_decimal(kMax)},
                     {"nonce", 0}, {"deadline", "1999999999"}}}};
    auto typed = parse_typed_data(request);
    REQUIRE(typed.has_value());
    auto intent = intent_from_typed_data(*typed);
    REQUIRE(intent.has_value());
    const Grant* g = find_grant(*intent, GrantKind::kPermit);
    REQUIRE(g != nullptr);
    CHECK(g->grantor == kAlice);
    CHECK(g->grantee == kSanctioned);
    CHECK(g->asset == kToken);
    CHECK(g->unlimited);
    CHECK(touches(*intent, kSanctioned));
    CHECK(intent->chain_id == U256(1));
  }

  TEST_CASE("a SafeTx signed as typed data is expanded like a Safe transaction with the same hash") {
    const Bytes data = erc20_transfer(kSanctioned, 77);
    const json request = {
        {"types",
         {{"EIP712Domain", json::array({{{"name", "chainId"}, {"type", "uint256"}}, {{"name", "verifyingContract"}, {"type", "address"}}})},
          {"SafeTx", json::array({{{"name", "to"}, {"type", "address"}}, {{"name", "value"}, {"type", "uint256"}},
                                  {{"name", "data"}, {"type", "bytes"}}, {{"name", "operation"}, {"type", "uint8"}},
                                  {{"name", "safeTxGas"}, {"type", "uint256"}}, {{"name", "baseGas"}, {"type", "uint256"}},
                                  {{"name", "gasPrice"}, {"type", "uint256"}}, {{"name", "gasToken"}, {"type", "address"}},
                                  {{"name", "refundReceiver"}, {"type", "address"}}, {{"name", "nonce"}, {"type", "uint256"}}})}}},
        {"primaryType", "SafeTx"},
        {"domain", {{"chainId", 1}, {"verifyingContract", to_checksum(kSafe)}}},
        {"message", {{"to", to_checksum(kToken)}, {"value", "0"}, {"data", to_hex(data)}, {"operation", 0},
                     {"safeTxGas", "0"}, {"baseGas", "0"}, {"gasPrice", "0"},
                     {"gasToken", "0x0000000000000000000000000000000000000000"},
                     {"refundReceiver", "0x0000000000000000000000000000000000000000"}, {"nonce", 5}}}};
    auto typed = parse_typed_data(request);
    REQUIRE(typed.has_value());
    auto intent = intent_from_typed_data(*typed);
    REQUIRE(intent.has_value());
    CHECK(intent->wallet == kSafe);
    REQUIRE(intent->transfers.size() == 1);
    CHECK(intent->transfers[0].to == kSanctioned);
    SafeTxRequest same = safe_request(kToken, data);
    CHECK(typed->digest == safe_tx_hash(same.tx, same.domain));
  }

  TEST_CASE("the JSON form carries the fields scripts rely on") {
    const Intent intent = build(safe_request(kToken, erc20_transfer(kBob, 12)));
    const json j = to_json(intent);
    CHECK(j["kind"] == "safe-transaction");
    CHECK(j["safe_tx_hash"].get<std::string>().size() == 66);
    CHECK(j["transfers"][0]["amount"] == "12");
    CHECK(j["transfers"][0]["to"] == to_checksum(kBob));
    CHECK(j["calls"][0]["functions"][0] == "transfer(address,uint256)");
    CHECK(j["addresses"].size() == 3);
    CHECK(j.contains("grants"));
  }
}

TEST_SUITE("intent: personal messages") {
  TEST_CASE("the EIP-191 personal message digest matches ethers hashMessage and viem hashMessage") {
    // ethers.hashMessage("hello") == viem.hashMessage("hello")
    const std::string hello = "hello";
    const auto digest = personal_message_digest(
        ByteView(reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()));
    CHECK(to_hex(digest) == "0x50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750");
    // The length is decimal bytes, not characters or hex: 0 bytes and 10 bytes differ in prefix.
    CHECK(personal_message_digest(ByteView()) != personal_message_digest(ByteView(reinterpret_cast<const std::uint8_t*>("\0"), 1)));
  }

  TEST_CASE("a personal message is a message intent of the signer with nothing else in it") {
    IntentContext context;
    context.signer = parse_address("0x90F79bf6EB2c4f870365E785982E1f101E93b906").value();
    context.chain_id = U256(1);
    const Bytes message = {0xa9, 0x05, 0x9c, 0xbb};  // bytes that look like a selector are still just bytes
    const Intent intent = intent_from_message(message, context);
    CHECK(intent.kind == RequestKind::kMessage);
    CHECK(to_string(intent.kind) == "message");
    CHECK(intent.wallet == context.signer);
    CHECK(intent.calls.empty());
    CHECK(intent.transfers.empty());
    CHECK(intent.grants.empty());
    CHECK(intent.message == message);
    CHECK(intent.addresses == std::vector<Address>{*context.signer});
  }
}
