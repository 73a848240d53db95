#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"

#include <fstream>
#include <iterator>
#include <string>

#include "policy/ofac.hpp"

using namespace txguard::policy;

namespace {

std::string read_fixture(const std::string& name) { return txguard::test::read_fixture("lists/" + name); }

OfacOptions tickers(std::vector<std::string> t) { return OfacOptions{.tickers = std::move(t)}; }

constexpr std::string_view kD882 = "0xd882cfc20f52f2599d84b8e8d58c7fb62cfe344b";
constexpr std::string_view k098b = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
constexpr std::string_view kA0e1 = "0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B";
constexpr std::string_view kTronUnderXbt = "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq";

// The ETH content every fixture shares: three distinct addresses, one of them twice (once upper-case),
// two in one field, and one placeholder.
void check_eth(const OfacExtract& e) {
  CHECK(e.per_ticker.at("ETH") == 3);
  CHECK(e.list.size() == 3);
  CHECK(e.list.contains(kD882));
  CHECK(e.list.contains(k098b));
  CHECK(e.list.contains(kA0e1));
  CHECK(e.entries == 4);
  CHECK(e.duplicates == 1);
  CHECK(e.placeholders == 1);
}

std::string advanced_with(std::string_view parties) {
  return std::string(
             "<Sanctions xmlns=\"https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML\">\n"
             "<ReferenceValueSets><FeatureTypeValues>\n"
             "<FeatureType ID=\"345\">Digital Currency Address - ETH</FeatureType>\n"
             "</FeatureTypeValues></ReferenceValueSets>\n<DistinctParties>\n") +
         std::string(parties) + "</DistinctParties>\n</Sanctions>\n";
}

}  // namespace

TEST_SUITE("ofac") {

TEST_CASE("advanced XML in the current namespace: ETH addresses, split fields, placeholder, duplicate") {
  const auto e = parse_sdn_advanced(read_fixture("sdn_advanced_2024.xml"), tickers({"ETH"}));
  REQUIRE(e.has_value());
  check_eth(*e);
  CHECK(e->issued == "2024-09-27");
  CHECK(e->per_ticker.size() == 1);
}

TEST_CASE("advanced XML in the pre-2024 namespace with a prefix and unusual FeatureType IDs") {
  const auto text = read_fixture("sdn_advanced_2022.xml");
  const auto eth = parse_sdn_advanced(text, tickers({"ETH"}));
  REQUIRE(eth.has_value());
  CHECK(eth->per_ticker.at("ETH") == 1);
  CHECK(eth->list.contains("0x8589427373d6d84e98730d7795d8f6f8731fda16"));
  CHECK(eth->issued == "2022-11-08");
  // ID 345 is XBT in this file: the ID is looked up by text, not assumed.
  const auto xbt = parse_sdn_advanced(text, tickers({"XBT"}));
  REQUIRE(xbt.has_value());
  CHECK(xbt->list.contains("123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX"));
  CHECK(xbt->list.size() == 1);
}

TEST_CASE("advanced XML with no ticker filter extracts every digital currency ticker and flags a TRON address under XBT") {
  const auto e = parse_sdn_advanced(read_fixture("sdn_advanced_2024.xml"), OfacOptions{});
  REQUIRE(e.has_value());
  CHECK(e->per_ticker.at("ETH") == 3);
  CHECK(e->per_ticker.at("XBT") == 2);
  CHECK(e->per_ticker.at("USDT") == 2);
  CHECK(e->per_ticker.at("TRX") == 1);
  CHECK_FALSE(e->per_ticker.contains("SOL"));
  CHECK(e->list.size() == 8);
  CHECK(e->list.contains(kTronUnderXbt));
  CHECK(e->mismatched == 1);
  CHECK_FALSE(e->list.contains("someone@example.com"));
}

TEST_CASE("an unknown ticker yields zero entries, not an error") {
  const auto e = parse_sdn_advanced(read_fixture("sdn_advanced_2024.xml"), tickers({"DOGE"}));
  REQUIRE(e.has_value());
  CHECK(e->per_ticker.at("DOGE") == 0);
  CHECK(e->list.size() == 0);
}

TEST_CASE("evm_only keeps EVM addresses and counts the others as skipped") {
  auto options = OfacOptions{};
  options.evm_only = true;
  const auto e = parse_sdn_advanced(read_fixture("sdn_advanced_2024.xml"), options);
  REQUIRE(e.has_value());
  CHECK(e->list.size() == 4);
  CHECK(e->list.other_count() == 0);
  CHECK(e->skipped == 4);
}

TEST_CASE("advanced XML fed one byte at a time gives the same list as fed whole") {
  const auto text = read_fixture("sdn_advanced_2024.xml");
  SdnXmlReader reader(SdnXmlReader::Format::kAdvanced, tickers({"ETH", "XBT"}));
  for (char c : text) REQUIRE(reader.feed(std::string_view(&c, 1)).has_value());
  const auto streamed = reader.finish();
  const auto whole = parse_sdn_advanced(text, tickers({"ETH", "XBT"}));
  REQUIRE(streamed.has_value());
  REQUIRE(whole.has_value());
  CHECK(streamed->list.content_hash() == whole->list.content_hash());
  CHECK(streamed->per_ticker == whole->per_ticker);
}

TEST_CASE("malformed XML is an error naming the line") {
  const auto e = parse_sdn_advanced(advanced_with("<DistinctParty>\n<Profile>\n</DistinctParty>\n"), tickers({"ETH"}));
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().code == ListErrc::kBadXml);
  CHECK(e.error().line == 8);
}

TEST_CASE("truncated XML is an error at finish") {
  const auto text = read_fixture("sdn_advanced_2024.xml");
  const auto e = parse_sdn_advanced(text.substr(0, text.size() / 2), tickers({"ETH"}));
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().code == ListErrc::kBadXml);
}

TEST_CASE("a DOCTYPE is refused") {
  const auto e = parse_sdn_advanced("<?xml version=\"1.0\"?>\n<!DOCTYPE Sanctions [<!ENTITY a \"aaaa\">]>\n<Sanctions/>",
                                    tickers({"ETH"}));
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().code == ListErrc::kBadXml);
  CHECK(e.error().line == 2);
}

TEST_CASE("the wrong root element is refused so a wrong --format is not an empty list") {
  const auto legacy_as_advanced = parse_sdn_advanced(read_fixture("sdn.xml"), tickers({"ETH"}));
  REQUIRE_FALSE(legacy_as_advanced.has_value());
  CHECK(legacy_as_advanced.error().detail.find("sdnList") != std::string::npos);
  const auto advanced_as_legacy = parse_sdn_xml(read_fixture("sdn_advanced_2024.xml"), tickers({"ETH"}));
  REQUIRE_FALSE(advanced_as_legacy.has_value());
}

TEST_CASE("a Feature before any FeatureType is refused") {
  const auto e = parse_sdn_advanced(
      "<Sanctions><DistinctParties><DistinctParty><Profile>\n<Feature FeatureTypeID=\"345\"/>"
      "</Profile></DistinctParty></DistinctParties></Sanctions>",
      tickers({"ETH"}));
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().line == 2);
}

TEST_CASE("element text is bounded at kMaxTextBytes") {
  const auto party = [](std::size_t n) {
    return "<DistinctParty><Profile><Feature FeatureTypeID=\"345\"><FeatureVersion><VersionDetail>" +
           std::string(n, ' ') + std::string(kD882) + "</VersionDetail></FeatureVersion></Feature></Profile></DistinctParty>\n";
  };
  const auto fits = parse_sdn_advanced(advanced_with(party(kMaxTextBytes - kD882.size())), tickers({"ETH"}));
  REQUIRE(fits.has_value());
  CHECK(fits->list.size() == 1);
  const auto too_long = parse_sdn_advanced(advanced_with(party(kMaxTextBytes - kD882.size() + 1)), tickers({"ETH"}));
  REQUIRE_FALSE(too_long.has_value());
  CHECK(too_long.error().code == ListErrc::kBadXml);
}

TEST_CASE("element nesting is bounded at kMaxDepth") {
  const auto nested = [](std::size_t depth) {
    std::string open;
    std::string close;
    for (std::size_t i = 1; i < depth; ++i) {
      open += "<x>";
      close += "</x>";
    }
    return "<Sanctions>" + open + close + "</Sanctions>";
  };
  CHECK(parse_sdn_advanced(nested(kMaxDepth), tickers({"ETH"})).has_value());
  CHECK_FALSE(parse_sdn_advanced(nested(kMaxDepth + 1), tickers({"ETH"})).has_value());
}

TEST_CASE("a reader reports its first error again on later calls") {
  SdnXmlReader reader(SdnXmlReader::Format::kAdvanced, tickers({"ETH"}));
  REQUIRE_FALSE(reader.feed("<Sanctions><a></b>").has_value());
  CHECK_FALSE(reader.feed("</Sanctions>").has_value());
  CHECK_FALSE(reader.finish().has_value());
}

TEST_CASE("legacy sdn.xml: idType/idNumber pairs, semicolon-separated field, placeholder, duplicate") {
  const auto e = parse_sdn_xml(read_fixture("sdn.xml"), tickers({"ETH"}));
  REQUIRE(e.has_value());
  check_eth(*e);
  CHECK(e->issued == "2024-09-27");
  CHECK_FALSE(e->list.contains("X1234567"));
}

TEST_CASE("legacy sdn.xml flags a TRON address filed under XBT") {
  const auto e = parse_sdn_xml(read_fixture("sdn.xml"), tickers({"XBT"}));
  REQUIRE(e.has_value());
  CHECK(e->per_ticker.at("XBT") == 2);
  CHECK(e->mismatched == 1);
  CHECK(e->list.family_of(kTronUnderXbt) == ChainFamily::kTron);
}

TEST_CASE("sdn.csv: addresses in the Remarks column, alt. prefixes, trailing period, placeholder") {
  const auto text = read_fixture("sdn.csv");
  const auto eth = parse_sdn_csv(text, tickers({"ETH"}));
  REQUIRE(eth.has_value());
  check_eth(*eth);
  const auto all = parse_sdn_csv(text, OfacOptions{});
  REQUIRE(all.has_value());
  CHECK(all->per_ticker.at("XBT") == 3);
  CHECK(all->per_ticker.at("ETC") == 1);
  CHECK(all->list.size() == 6);
  CHECK(all->list.contains(kTronUnderXbt));
  CHECK(all->mismatched == 1);
}

TEST_CASE("sdn.csv without a header row reads the same") {
  const auto text = read_fixture("sdn.csv");
  const auto body = text.substr(text.find('\n') + 1);
  const auto e = parse_sdn_csv(body, tickers({"ETH"}));
  REQUIRE(e.has_value());
  check_eth(*e);
}

TEST_CASE("sdn.csv refuses a short row and an unterminated quote, naming the line") {
  const auto short_row = parse_sdn_csv("1,NAME,entity,SDGT,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n2,NAME\n", tickers({"ETH"}));
  REQUIRE_FALSE(short_row.has_value());
  CHECK(short_row.error().code == ListErrc::kMissingColumn);
  CHECK(short_row.error().line == 2);
  const auto quote = parse_sdn_csv("1,\"NAME,entity\n", tickers({"ETH"}));
  REQUIRE_FALSE(quote.has_value());
  CHECK(quote.error().code == ListErrc::kBadCsv);
  CHECK(quote.error().line == 1);
}

TEST_CASE("the three publications of the same data give the same ETH list") {
  const auto adv = parse_sdn_advanced(read_fixture("sdn_advanced_2024.xml"), tickers({"ETH"}));
  const auto xml = parse_sdn_xml(read_fixture("sdn.xml"), tickers({"ETH"}));
  const auto csv = parse_sdn_csv(read_fixture("sdn.csv"), tickers({"ETH"}));
  REQUIRE(adv.has_value());
  REQUIRE(xml.has_value());
  REQUIRE(csv.has_value());
  CHECK(adv->list.content_hash() == xml->list.content_hash());
  CHECK(adv->list.content_hash() == csv->list.content_hash());
}

}  // TEST_SUITE
