#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/event_log.hpp"
#include "policy/codec/keccak.hpp"

using namespace txguard::codec;

namespace {

using txguard::test::load_fixture;

constexpr const char* kDeposit =
    "Deposit(address indexed token,address indexed sender,address recipient,uint256 amount,uint256 destChainId,"
    "uint256 nonce)";
constexpr const char* kTransfer = "Transfer(address indexed from,address indexed to,uint256 value)";

Hash32 h32(std::string_view text) { return from_hex_fixed<32>(text).value(); }
Bytes hex(std::string_view text) { return from_hex(text).value(); }
std::string word(std::string_view digits) { return std::string(64 - digits.size(), '0') + std::string(digits); }

EventSpec spec(std::string_view text) {
  auto s = parse_event_signature(text);
  REQUIRE_MESSAGE(s.has_value(), text << ": " << s.error().message());
  return *s;
}

DecodeError parse_error(std::string_view text) {
  auto s = parse_event_signature(text);
  REQUIRE_MESSAGE(!s.has_value(), text);
  return s.error();
}

struct Log {
  std::vector<Hash32> topics;
  Bytes data;
};

Log log_from_json(const nlohmann::json& j) {
  Log out;
  for (const auto& t : j.at("topics")) out.topics.push_back(h32(t.get<std::string>()));
  out.data = hex(j.at("data").get<std::string>());
  return out;
}

// A Deposit log: token 0x11.., sender 0x22.., recipient 0x33.., amount 1000, chain 10, nonce 7.
Log deposit_log() {
  const EventSpec s = spec(kDeposit);
  Log out;
  out.topics = {s.topic0, h32("0x" + word("1111111111111111111111111111111111111111")),
                h32("0x" + word("2222222222222222222222222222222222222222"))};
  out.data = hex("0x" + word("3333333333333333333333333333333333333333") + word("3e8") + word("a") + word("7"));
  return out;
}

}  // namespace

TEST_SUITE("event_log") {

TEST_CASE("parses an event signature with indexed inputs into its canonical form and topic0") {
  const EventSpec s = spec(kDeposit);
  CHECK(s.name == "Deposit");
  REQUIRE(s.inputs.size() == 6);
  CHECK(s.inputs[0].name == "token");
  CHECK(s.inputs[0].indexed);
  CHECK(s.inputs[1].indexed);
  CHECK_FALSE(s.inputs[2].indexed);
  CHECK(s.inputs[5].name == "nonce");
  CHECK(s.canonical == "Deposit(address,address,address,uint256,uint256,uint256)");
  CHECK(s.topic0 == keccak256(view(s.canonical)));
  // The ERC-20 Transfer topic every explorer shows (EIP-20).
  CHECK(to_hex(spec(kTransfer).topic0) == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  // Tuples, arrays and a space after commas; an event without inputs.
  const EventSpec t = spec("E((address,uint256)[] indexed xs, bytes32 indexed id, string memo)");
  CHECK(t.canonical == "E((address,uint256)[],bytes32,string)");
  CHECK(spec("Ping()").inputs.empty());
  CHECK(spec("Ping()").canonical == "Ping()");
}

TEST_CASE("to_string writes a signature that parses back to the same spec") {
  for (const char* text : {kDeposit, kTransfer, "E((address,uint256)[] indexed xs, bytes32 indexed id, string memo)",
                           "Ping()", "F(tuple(uint8,bool) indexed t,int256 v)"}) {
    const EventSpec s = spec(text);
    CHECK(spec(to_string(s)) == s);
  }
  CHECK(to_string(spec(kTransfer)) == kTransfer);
}

TEST_CASE("rejects an event signature with more than three indexed inputs") {
  const DecodeError e =
      parse_error("E(uint256 indexed a,uint256 indexed b,uint256 indexed c,uint256 indexed d)");
  CHECK(e.code == DecodeErrc::kInvalidAbiType);
  CHECK(e.offset == 56);  // the fourth input
  // Three is the boundary and is allowed.
  CHECK(spec("E(uint256 indexed a,uint256 indexed b,uint256 indexed c,uint256 d)").inputs.size() == 4);
}

TEST_CASE("rejects an event signature with an unnamed or doubly named input") {
  CHECK(parse_error("Transfer(address indexed,address indexed to,uint256 value)").offset == 17);
  CHECK(parse_error("Transfer(address,address,uint256)").code == DecodeErrc::kInvalidAbiType);
  CHECK(parse_error("E(uint256 a,uint256 a)").detail.find("two inputs") != std::string::npos);
  CHECK(parse_error("E(uint256 1a)").offset == 10);
}

TEST_CASE("rejects malformed event signature text") {
  CHECK(parse_error("").code == DecodeErrc::kInvalidAbiType);
  CHECK(parse_error("Deposit").code == DecodeErrc::kInvalidAbiType);
  CHECK(parse_error("(uint256 a)").offset == 0);            // no name
  CHECK(parse_error("1E(uint256 a)").offset == 0);          // name is not an identifier
  CHECK(parse_error("E(uint256 a").code == DecodeErrc::kInvalidAbiType);
  CHECK(parse_error("E(uint256 a))").offset == 11);         // unbalanced
  CHECK(parse_error("E((uint256 a)").code == DecodeErrc::kInvalidAbiType);
  CHECK(parse_error("E(uint256  a)").offset == 10);         // two spaces
  CHECK(parse_error("E(uint256 a,,uint256 b)").offset == 12);  // empty input
  CHECK(parse_error("E(uint256 a,  uint256 b)").offset == 13); // two spaces after a comma
  CHECK(parse_error("E(uint256 memory a)").offset == 10);   // not 'indexed'
  CHECK(parse_error("E(uint256 indexed a b)").offset == 20);
  CHECK(parse_error("E(uint a)").code == DecodeErrc::kInvalidAbiType);  // alias, not canonical
  CHECK(parse_error("E(uint7 a)").code == DecodeErrc::kInvalidAbiType);
  CHECK(parse_error("E(address a)x").code == DecodeErrc::kInvalidAbiType);
}

TEST_CASE("decodes the Transfer logs of mainnet ERC-20 transfers as viem does") {
  const auto fixture = load_fixture("event-logs/erc20-transfer-logs.json");
  const EventSpec s = spec(kTransfer);
  REQUIRE(to_hex(s.topic0) == fixture.at("topic0").get<std::string>());
  std::size_t passed = 0;
  for (const auto& v : fixture.at("logs")) {
    const Log log = log_from_json(v);
    auto decoded = decode_event_log(s, log.topics, log.data);
    REQUIRE_MESSAGE(decoded.has_value(), v.at("tx_hash") << ": " << decoded.error().message());
    CHECK(*decoded == v.at("expected"));
    ++passed;
  }
  CHECK(passed == fixture.at("count").get<std::size_t>());
  CHECK(passed >= 10);
}

TEST_CASE("decodes a Deposit log into named fields with EIP-55 addresses and decimal integers") {
  const Log log = deposit_log();
  auto decoded = decode_event_log(spec(kDeposit), log.topics, log.data);
  REQUIRE(decoded.has_value());
  const nlohmann::json expected = {{"token", "0x1111111111111111111111111111111111111111"},
                                   {"sender", "0x2222222222222222222222222222222222222222"},
                                   {"recipient", "0x3333333333333333333333333333333333333333"},
                                   {"amount", "1000"},
                                   {"destChainId", "10"},
                                   {"nonce", "7"}};
  CHECK(*decoded == expected);
}

TEST_CASE("reports an indexed dynamic input as the hash in its topic") {
  const EventSpec s = spec("Named(string indexed name,(uint256,uint256) indexed pair,bytes payload)");
  const Hash32 name_hash = keccak256(view(std::string("alice")));
  const Hash32 pair_hash = keccak256(view(std::string("not inverted")));
  const Bytes data = hex("0x" + word("20") + word("2") + "abcd" + std::string(60, '0'));
  const std::vector<Hash32> topics = {s.topic0, name_hash, pair_hash};
  auto decoded = decode_event_log(s, topics, data);
  REQUIRE(decoded.has_value());
  CHECK(decoded->at("name") == nlohmann::json{{"hash", to_hex(name_hash)}});
  CHECK(decoded->at("pair") == nlohmann::json{{"hash", to_hex(pair_hash)}});
  CHECK(decoded->at("payload") == "0xabcd");
}

TEST_CASE("rejects a log of another event (wrong topic0)") {
  Log log = deposit_log();
  log.topics[0][31] ^= 1;
  auto decoded = decode_event_log(spec(kDeposit), log.topics, log.data);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == DecodeErrc::kInvalidField);
  CHECK(decoded.error().where == "topics[0]");
  // The Transfer topic against the Deposit spec, with the right count of topics.
  log = deposit_log();
  log.topics[0] = spec(kTransfer).topic0;
  CHECK(decode_event_log(spec(kDeposit), log.topics, log.data).error().code == DecodeErrc::kInvalidField);
}

TEST_CASE("rejects a log with one topic too many or too few") {
  const EventSpec s = spec(kDeposit);
  Log log = deposit_log();
  log.topics.push_back(log.topics[1]);
  auto more = decode_event_log(s, log.topics, log.data);
  REQUIRE_FALSE(more.has_value());
  CHECK(more.error().code == DecodeErrc::kWrongFieldCount);
  CHECK(more.error().where == "topics");
  log.topics.resize(2);
  CHECK(decode_event_log(s, log.topics, log.data).error().code == DecodeErrc::kWrongFieldCount);
  CHECK(decode_event_log(s, std::span<const Hash32>(), log.data).error().code == DecodeErrc::kWrongFieldCount);
  // The Transfer signature with the amount indexed (ERC-721 style: 4 topics) is not an ERC-20 log.
  const auto fixture = load_fixture("event-logs/erc20-transfer-logs.json");
  Log transfer = log_from_json(fixture.at("logs").at(0));
  transfer.topics.push_back(h32("0x" + word("1")));
  transfer.data.clear();
  CHECK(decode_event_log(spec(kTransfer), transfer.topics, transfer.data).error().code ==
        DecodeErrc::kWrongFieldCount);
}

TEST_CASE("rejects dirty padding in an indexed address, bool or small integer topic") {
  const EventSpec s = spec(kDeposit);
  Log log = deposit_log();
  log.topics[2][11] = 0x01;  // the last high byte of the sender word
  auto decoded = decode_event_log(s, log.topics, log.data);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == DecodeErrc::kDirtyPadding);
  CHECK(decoded.error().where == "topics[2]");
  CHECK(decoded.error().offset == 2 * 32 + 11);
  // Byte 12 is the address's first byte: any value is fine there.
  log = deposit_log();
  log.topics[2][12] = 0xff;
  CHECK(decode_event_log(s, log.topics, log.data).has_value());

  const EventSpec small = spec("S(bool indexed flag,uint8 indexed level,int8 indexed delta)");
  const Hash32 one = h32("0x" + word("1"));
  const Hash32 minus_one = h32("0x" + std::string(64, 'f'));
  std::vector<Hash32> topics = {small.topic0, one, h32("0x" + word("ff")), minus_one};
  auto ok = decode_event_log(small, topics, {});
  REQUIRE(ok.has_value());
  CHECK(ok->at("flag") == true);
  CHECK(ok->at("level") == "255");
  CHECK(ok->at("delta") == "-1");
  topics[1] = h32("0x" + word("2"));
  CHECK(decode_event_log(small, topics, {}).error().code == DecodeErrc::kInvalidBool);
  topics[1] = one;
  topics[2] = h32("0x" + word("100"));  // 256 does not fit uint8
  CHECK(decode_event_log(small, topics, {}).error().code == DecodeErrc::kDirtyPadding);
  topics[2] = one;
  topics[3] = h32("0x" + word("ff"));  // 255 as int8 must be sign-extended
  CHECK(decode_event_log(small, topics, {}).error().code == DecodeErrc::kDirtyPadding);
}

TEST_CASE("rejects bytes after the non-indexed inputs of a log") {
  Log log = deposit_log();
  const std::size_t canonical_size = log.data.size();
  log.data.push_back(0);
  auto decoded = decode_event_log(spec(kDeposit), log.topics, log.data);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == DecodeErrc::kTrailingBytes);
  CHECK(decoded.error().offset == canonical_size);
  CHECK(decoded.error().where == "data");
  // A whole extra word too.
  log.data.resize(canonical_size + 32, 0);
  CHECK(decode_event_log(spec(kDeposit), log.topics, log.data).error().code == DecodeErrc::kTrailingBytes);
}

TEST_CASE("rejects log data shorter than the non-indexed inputs") {
  Log log = deposit_log();
  log.data.pop_back();  // one byte short
  auto decoded = decode_event_log(spec(kDeposit), log.topics, log.data);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == DecodeErrc::kInputTooShort);
  CHECK(decoded.error().where == "data");
  CHECK(decode_event_log(spec(kDeposit), log.topics, {}).error().code == DecodeErrc::kInputTooShort);
}

TEST_CASE("rejects dirty padding and non-canonical offsets in log data") {
  Log log = deposit_log();
  log.data[0] = 0x01;  // recipient word's high byte
  auto decoded = decode_event_log(spec(kDeposit), log.topics, log.data);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == DecodeErrc::kDirtyPadding);
  CHECK(decoded.error().offset == 0);

  const EventSpec s = spec("M(bytes32 indexed id,string memo)");
  const std::vector<Hash32> topics = {s.topic0, h32("0x" + word("1"))};
  const Bytes good = hex("0x" + word("20") + word("2") + "6869" + std::string(60, '0'));
  auto ok = decode_event_log(s, topics, good);
  REQUIRE(ok.has_value());
  CHECK(ok->at("memo") == "hi");
  const Bytes moved = hex("0x" + word("40") + word("0") + word("2") + "6869" + std::string(60, '0'));
  CHECK(decode_event_log(s, topics, moved).error().code == DecodeErrc::kNonCanonicalOffset);
}

}  // TEST_SUITE
