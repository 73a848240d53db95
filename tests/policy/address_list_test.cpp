#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"

#include <fstream>
#include <iterator>
#include <string>

#include "policy/address_list.hpp"
#include "policy/codec/keccak.hpp"

using namespace txguard::policy;
using txguard::codec::Address;
using txguard::codec::parse_address;

namespace {

using txguard::test::read_fixture;

Address addr(std::string_view text) { return parse_address(text).value(); }

// Bybit exploiter address from the FBI PSA (valid EIP-55 form) and a TRON address from OFAC's XBT list.
constexpr std::string_view kBybit = "0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D";
constexpr std::string_view kBybitLower = "0x51e9d833ecae4e8d9d8be17300aee6d3398c135d";
constexpr std::string_view kTron = "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq";
constexpr std::string_view kBitcoin = "1Q6saNmqKkyFB9mFR68Ck8F7Dp7dTopF2W";

}  // namespace

TEST_SUITE("address_list") {

TEST_CASE("classifies EVM, Bitcoin, Tron and other address shapes") {
  CHECK(classify_address(kBybit).value() == ChainFamily::kEvm);
  CHECK(classify_address(kTron).value() == ChainFamily::kTron);
  CHECK(classify_address(kBitcoin).value() == ChainFamily::kBitcoin);
  CHECK(classify_address("bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh").value() == ChainFamily::kBitcoin);
  CHECK(classify_address("bitcoincash:qp3wjpa3tjlj042z2wv7hahsldgwhwy0rq9sywjpyy").value() == ChainFamily::kOther);
}

TEST_CASE("an EVM address needs exactly 40 hex digits after a lower-case 0x") {
  const std::string forty(40, 'a');
  CHECK(classify_address("0x" + forty).has_value());
  CHECK_FALSE(classify_address("0x" + forty.substr(1)).has_value());  // 39
  CHECK_FALSE(classify_address("0x" + forty + "a").has_value());      // 41
  CHECK_FALSE(classify_address("0X" + forty).has_value());
  CHECK_FALSE(classify_address("0x" + forty.substr(1) + "g").has_value());
}

TEST_CASE("a non-EVM address is 20 to 128 characters of A-Z a-z 0-9 and colon") {
  CHECK(classify_address(std::string(20, 'a')).has_value());
  CHECK_FALSE(classify_address(std::string(19, 'a')).has_value());
  CHECK(classify_address(std::string(128, 'a')).has_value());
  CHECK_FALSE(classify_address(std::string(129, 'a')).has_value());
  CHECK_FALSE(classify_address("See OFAC website for updated address").has_value());
  CHECK_FALSE(classify_address("").has_value());
}

TEST_CASE("EVM entries match case-insensitively, by text and by codec::Address") {
  AddressList list;
  REQUIRE(list.add(kBybitLower).has_value());
  CHECK(list.contains(addr(kBybit)));
  CHECK(list.contains(kBybit));
  CHECK(list.contains("0x51E9D833ECAE4E8D9D8BE17300AEE6D3398C135D"));
  CHECK_FALSE(list.contains(addr("0x51e9d833ecae4e8d9d8be17300aee6d3398c135e")));
  CHECK(list.add(kBybit).value() == AddressList::Added::kDuplicate);
  CHECK(list.size() == 1);
  CHECK(list.family_of(kBybit) == ChainFamily::kEvm);
}

TEST_CASE("non-EVM entries match exactly, case included") {
  AddressList list;
  REQUIRE(list.add(kTron).has_value());
  CHECK(list.contains(kTron));
  CHECK_FALSE(list.contains("tucstq7toftcjrrohk6rvhmos2mjlm5yzq"));
  CHECK_FALSE(list.contains(std::string(kTron) + "x"));
  CHECK(list.family_of(kTron) == ChainFamily::kTron);
  CHECK_FALSE(list.family_of(kBitcoin).has_value());
}

TEST_CASE("a mixed-case EVM entry with a bad EIP-55 checksum is normalised and counted, not refused") {
  AddressList list;
  // kBybit with the case of its first letter digit flipped: wrong checksum.
  const std::string bad = "0x51e9d833Ecae4E8D9D8Be17300AEE6D3398C135D";
  REQUIRE(list.add(bad).has_value());
  CHECK(list.checksum_mismatches() == 1);
  CHECK(list.contains(addr(kBybit)));
  REQUIRE(list.add(kBybit).has_value());
  CHECK(list.checksum_mismatches() == 1);  // a correct checksum is not counted
}

TEST_CASE("plain lines skip comments and blank lines and read one address per line") {
  const auto parsed = parse_lines("# OFAC ETH\n\n  " + std::string(kBybit) + "  \r\n" + std::string(kTron) + "\n# end\n");
  REQUIRE(parsed.has_value());
  CHECK(parsed->list.size() == 2);
  CHECK(parsed->stats.entries == 2);
}

TEST_CASE("plain lines report the 1-based line of a bad address") {
  const auto parsed = parse_lines("# header\n" + std::string(kBybit) + "\n\n0x1234\n");
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().code == ListErrc::kBadAddress);
  CHECK(parsed.error().line == 4);
  CHECK(parsed.error().message().find("at line 4") != std::string::npos);
}

TEST_CASE("plain lines refuse two addresses on one line") {
  const auto parsed = parse_lines(std::string(kBybit) + " " + std::string(kTron) + "\n");
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().line == 1);
}

TEST_CASE("plain lines count duplicates and evm_only skips other chains") {
  const auto parsed = parse_lines(std::string(kBybit) + "\n" + std::string(kBybitLower) + "\n" + std::string(kTron) + "\n",
                                  ParseOptions{.evm_only = true, .exclude_rows = {}});
  REQUIRE(parsed.has_value());
  CHECK(parsed->list.size() == 1);
  CHECK(parsed->stats.duplicates == 1);
  CHECK(parsed->stats.skipped == 1);
}

TEST_CASE("CSV splits quoted fields with commas, doubled quotes and line breaks per RFC 4180") {
  const auto records = parse_csv("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\nlast,,\n");
  REQUIRE(records.has_value());
  REQUIRE(records->size() == 3);
  CHECK((*records)[1].fields == std::vector<std::string>{"x, y", "say \"hi\"", "two\nlines"});
  CHECK((*records)[2].line == 5);
  CHECK((*records)[2].fields == std::vector<std::string>{"last", "", ""});
}

TEST_CASE("CSV refuses an unterminated quote, naming the line it opened on") {
  const auto records = parse_csv("address\n0x00\n\"0xab,\nmore\n");
  REQUIRE_FALSE(records.has_value());
  CHECK(records.error().code == ListErrc::kBadCsv);
  CHECK(records.error().line == 3);
}

TEST_CASE("CSV refuses a quote inside an unquoted field and text after a closing quote") {
  auto inside = parse_csv("a,b\nx\"y,z\n");
  REQUIRE_FALSE(inside.has_value());
  CHECK(inside.error().line == 2);
  auto after = parse_csv("a,b\n\"x\"y,z\n");
  REQUIRE_FALSE(after.has_value());
  CHECK(after.error().line == 2);
}

TEST_CASE("CSV list takes the address from the named column of the Lazarus fixture") {
  const auto text = read_fixture("sanctions/lazarus_tradertraitor_addresses.csv");
  const auto all = parse_csv_list(text, "address");
  REQUIRE(all.has_value());
  CHECK(all->stats.entries == 305);
  CHECK(all->list.contains(addr(kBybit)));
  const auto evm = parse_csv_list(text, "address", ParseOptions{.evm_only = true, .exclude_rows = {}});
  REQUIRE(evm.has_value());
  CHECK(evm->list.other_count() == 0);
  CHECK(evm->stats.skipped == all->list.other_count());
  CHECK(evm->list.evm_count() == all->list.evm_count());
}

TEST_CASE("CSV list refuses a missing column, a short row and an empty address") {
  auto missing = parse_csv_list("chain,label\nETH,x\n", "address");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ListErrc::kMissingColumn);
  CHECK(missing.error().line == 1);
  auto short_row = parse_csv_list("chain,address\nETH," + std::string(kBybit) + "\nETH\n", "address");
  REQUIRE_FALSE(short_row.has_value());
  CHECK(short_row.error().code == ListErrc::kMissingColumn);
  CHECK(short_row.error().line == 3);
  auto empty = parse_csv_list("chain,address\nETH,\n", "address");
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().code == ListErrc::kEmpty);
  CHECK(empty.error().line == 2);
}

TEST_CASE("CSV list leaves out rows by column value, and refuses an unknown exclusion column") {
  const std::string text = "address,category\n" + std::string(kBybit) + ",lazarus-bybit\n" +
                           "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4, victim \n";
  ParseOptions options;
  options.exclude_rows = {{"category", "victim"}};
  const auto parsed = parse_csv_list(text, "address", options);
  REQUIRE(parsed.has_value());
  CHECK(parsed->list.size() == 1);
  CHECK(parsed->stats.skipped == 1);
  CHECK_FALSE(parsed->list.contains("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4"));
  options.exclude_rows = {{"kind", "victim"}};
  const auto unknown = parse_csv_list(text, "address", options);
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().code == ListErrc::kMissingColumn);
  CHECK(unknown.error().line == 1);
}

TEST_CASE("CSV list names the line of a bad address, counting lines inside quoted fields") {
  auto parsed = parse_csv_list("label,address\n\"two\nlines\"," + std::string(kBybit) + "\nx,0xnothex\n", "address");
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().code == ListErrc::kBadAddress);
  CHECK(parsed.error().line == 4);
}

TEST_CASE("JSON list reads 0xB10C's sanctioned_addresses_ETH.json") {
  const auto parsed = parse_json_list(read_fixture("sanctions/ofac/sanctioned_addresses_ETH.json"));
  REQUIRE(parsed.has_value());
  CHECK(parsed->list.evm_count() > 100);
  CHECK(parsed->list.contains("0x01e2919679362dfbc9ee1644ba9c6da6d6245bb1"));
}

TEST_CASE("JSON list refuses a non-string element, naming its line and index") {
  const auto parsed = parse_json_list("[\n  \"" + std::string(kBybit) + "\",\n  42\n]");
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().code == ListErrc::kBadJson);
  CHECK(parsed.error().line == 3);
  CHECK(parsed.error().detail.find("$[1]") != std::string::npos);
}

TEST_CASE("JSON list refuses malformed JSON, a non-array and a bad address") {
  auto malformed = parse_json_list("[\n\"0x00\",\n");
  REQUIRE_FALSE(malformed.has_value());
  CHECK(malformed.error().code == ListErrc::kBadJson);
  auto object = parse_json_list("{\"a\": 1}");
  REQUIRE_FALSE(object.has_value());
  CHECK(object.error().code == ListErrc::kBadJson);
  auto bad = parse_json_list("[\"" + std::string(kBybit) + "\",\n\n\"0x12\"]");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ListErrc::kBadAddress);
  CHECK(bad.error().line == 3);
  auto nested = parse_json_list("[[\"" + std::string(kBybit) + "\"]]");
  REQUIRE_FALSE(nested.has_value());
  CHECK(nested.error().code == ListErrc::kBadJson);
}

TEST_CASE("content hash is independent of insertion order and of EVM case") {
  AddressList a;
  AddressList b;
  REQUIRE(a.add(kBybit).has_value());
  REQUIRE(a.add(kTron).has_value());
  REQUIRE(b.add(kTron).has_value());
  REQUIRE(b.add(kBybitLower).has_value());
  CHECK(a.content_hash() == b.content_hash());
  b.metadata.name = "renamed";
  CHECK(a.content_hash() == b.content_hash());
}

TEST_CASE("content hash changes when one entry changes, is added or is removed") {
  AddressList base;
  REQUIRE(base.add(kBybit).has_value());
  AddressList changed;
  REQUIRE(changed.add("0x51e9d833ecae4e8d9d8be17300aee6d3398c135e").has_value());
  CHECK(base.content_hash() != changed.content_hash());
  AddressList more = base;
  REQUIRE(more.add(kTron).has_value());
  CHECK(base.content_hash() != more.content_hash());
  CHECK(AddressList{}.content_hash() != base.content_hash());
}

TEST_CASE("content hash is Keccak-256 of the sorted canonical entry lines") {
  AddressList list;
  REQUIRE(list.add(kTron).has_value());
  REQUIRE(list.add(kBybit).has_value());
  const std::string body = std::string(kBybitLower) + "\n" + std::string(kTron) + "\n";
  CHECK(list.content_hash() == txguard::codec::keccak256(txguard::codec::view(body)));
  CHECK(list.canonical_entries() == std::vector<std::string>{std::string(kBybitLower), std::string(kTron)});
}

TEST_CASE("list file round-trips its metadata and entries") {
  AddressList list;
  list.metadata = {.name = "dprk", .source = "test", .as_of = "2026-10-01", .ticker = "ETH", .notes = {"a\nb", "c"}};
  REQUIRE(list.add(kBybit).has_value());
  REQUIRE(list.add(kTron).has_value());
  const auto text = to_list_file(list);
  CHECK(text.find("# note: a b\n") != std::string::npos);
  const auto parsed = parse_list_file(text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->list.metadata.name == "dprk");
  CHECK(parsed->list.metadata.as_of == "2026-10-01");
  CHECK(parsed->list.metadata.ticker == "ETH");
  CHECK(parsed->list.metadata.notes.size() == 2);
  CHECK(parsed->list.content_hash() == list.content_hash());
  CHECK(to_list_file(parsed->list) == text);
}

TEST_CASE("list file metadata with surrounding spaces is written trimmed so the file is a fixed point") {
  AddressList list;
  list.metadata.name = "  spaced ";
  list.metadata.notes = {" n ", "  "};
  const auto text = to_list_file(list);
  const auto parsed = parse_list_file(text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->list.metadata.name == "spaced");
  CHECK(to_list_file(parsed->list) == text);
}

TEST_CASE("list file refuses a count or content hash that does not match the entries") {
  AddressList list;
  list.metadata.name = "x";
  REQUIRE(list.add(kBybit).has_value());
  const auto text = to_list_file(list);
  auto extra = parse_list_file(text + std::string(kTron) + "\n");
  REQUIRE_FALSE(extra.has_value());
  CHECK(extra.error().code == ListErrc::kBadHeader);
  CHECK(extra.error().line == 3);  // the count line
  std::string edited = text;
  edited.replace(edited.find("# count: 1"), 10, "# count: 2");
  auto count = parse_list_file(edited);
  REQUIRE_FALSE(count.has_value());
  CHECK(count.error().line == 3);
}

TEST_CASE("list file refuses a repeated header key and names the line of a bad entry after the header") {
  auto twice = parse_list_file("# name: a\n# name: b\n");
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().code == ListErrc::kBadHeader);
  CHECK(twice.error().line == 2);
  auto bad = parse_list_file("# name: a\n# source: s\n" + std::string(kBybit) + "\nnot-an-address\n");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ListErrc::kBadAddress);
  CHECK(bad.error().line == 4);
}

TEST_CASE("list file without count and hash headers is accepted as plain lines") {
  auto parsed = parse_list_file("# name: cold-wallets\n# hand-written\n" + std::string(kBybit) + "\n");
  REQUIRE(parsed.has_value());
  CHECK(parsed->list.metadata.name == "cold-wallets");
  CHECK(parsed->list.size() == 1);
}

}  // TEST_SUITE
