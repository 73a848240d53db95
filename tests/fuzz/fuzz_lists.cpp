// Fuzz target for the address-list parsers (policy/address_list.hpp) and the OFAC SDN readers
// (policy/ofac.hpp).
//
// Input: one mode byte, then the payload.
//   mode % 8 == 0..3  plain lines, CSV (column "address"), JSON array, txguard list file
//   mode % 8 == 4..6  sdn_advanced.xml, sdn.xml, sdn.csv (every ticker)
//   mode % 8 == 7     sdn_advanced.xml fed in chunks of (mode / 8 + 1) bytes
// Invariants checked, whatever the input:
//   - an error names a line inside the input (1 .. lines + 1) and a known code;
//   - a parsed list is consistent: its canonical entries are sorted, distinct, all contained, and as
//     many as size(); each is an address;
//   - writing the list file and reading it back gives the same entries and hash, and writing that
//     again gives the same bytes (the list file is a fixed point);
//   - feeding XML in chunks gives the same result as feeding it whole.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/address_list.hpp"
#include "policy/ofac.hpp"

using namespace txguard::policy;

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

std::size_t line_count(std::string_view text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

// XML counts a lone CR as a line break too (XML 1.0 section 2.11 normalises CR and CRLF to LF).
std::size_t xml_line_count(std::string_view text) {
  std::size_t lines = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) ++lines;
  }
  return lines;
}

void check_error(const ListError& e, std::string_view text, bool xml = false) {
  require(e.line <= (xml ? xml_line_count(text) : line_count(text)));
  require(to_string(e.code) != "unknown");
  require(!e.message().empty());
}

void check_list(const AddressList& list) {
  const auto entries = list.canonical_entries();
  require(entries.size() == list.size());
  require(std::adjacent_find(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return !(a < b); }) ==
          entries.end());
  for (const auto& e : entries) {
    require(list.contains(e));
    require(classify_address(e).has_value());
  }
  const std::string file = to_list_file(list);
  const auto back = parse_list_file(file);
  require(back.has_value());
  require(back->list.canonical_entries() == entries);
  require(back->list.content_hash() == list.content_hash());
  require(to_list_file(back->list) == file);
}

void check_extract(const OfacExtract& e) {
  check_list(e.list);
  require(e.list.size() <= e.entries);
  require(e.duplicates <= e.entries);
  for (const auto& [ticker, n] : e.per_ticker) require(n <= e.entries);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode % 8 < 4) {
    Parsed<ParsedList> parsed = mode % 8 == 0   ? parse_lines(text)
                                : mode % 8 == 1 ? parse_csv_list(text, "address")
                                : mode % 8 == 2 ? parse_json_list(text)
                                                : parse_list_file(text);
    if (parsed) {
      check_list(parsed->list);
      require(parsed->stats.duplicates <= parsed->stats.entries);
    } else {
      check_error(parsed.error(), text);
    }
    return 0;
  }
  const OfacOptions all{};
  if (mode % 8 == 6) {
    const auto e = parse_sdn_csv(text, all);
    if (e) check_extract(*e);
    else check_error(e.error(), text);
    return 0;
  }
  const auto format = mode % 8 == 5 ? SdnXmlReader::Format::kLegacy : SdnXmlReader::Format::kAdvanced;
  const auto whole = format == SdnXmlReader::Format::kLegacy ? parse_sdn_xml(text, all) : parse_sdn_advanced(text, all);
  if (whole) check_extract(*whole);
  else check_error(whole.error(), text, true);
  if (mode % 8 == 7) {
    const std::size_t chunk = static_cast<std::size_t>(mode / 8) + 1;
    SdnXmlReader reader(format, all);
    bool ok = true;
    for (std::size_t i = 0; i < text.size() && ok; i += chunk) ok = reader.feed(text.substr(i, chunk)).has_value();
    const auto streamed = ok ? reader.finish() : Parsed<OfacExtract>(std::unexpected(ListError{ListErrc::kBadXml, 0, {}}));
    require(streamed.has_value() == whole.has_value());
    if (streamed && whole) {
      require(streamed->list.content_hash() == whole->list.content_hash());
      require(streamed->per_ticker == whole->per_ticker);
      require(streamed->issued == whole->issued);
    }
  }
  return 0;
}
