// OFAC SDN ingestion: the "Digital Currency Address - <TICKER>" entries of the SDN list, from the
// three official publications (fixtures/sanctions/ofac/format/SDN_FORMAT.md describes them):
//   sdn_advanced.xml  Feature elements whose FeatureTypeID is the ID of the FeatureType whose text is
//                     "Digital Currency Address - <TICKER>" (looked up by text, never hard-coded);
//                     namespace http://www.un.org/sanctions/1.0 before 2024, the sanctionslistservice
//                     ADVANCED_XML one after: elements are matched on local names, so both work;
//   sdn.xml           sdnEntry/idList/id with idType "Digital Currency Address - <TICKER>" and idNumber;
//   sdn.csv           "Digital Currency Address - <TICKER> <address>" items in the Remarks column.
//
// Data traps handled (SDN_FORMAT.md section 5 and bitnob's defensive fixture): a field holding several
// addresses separated by commas, semicolons or white space; placeholder text ("See OFAC website for
// updated address") which is skipped and counted, not an error; the same address under several
// parties or tickers (counted as duplicates); mixed-case EVM addresses with or without a valid EIP-55
// checksum (normalised); an address whose shape does not fit its ticker (a TRON address filed under
// XBT, an EVM address under XBT), which is kept -- it is sanctioned whatever the tag says -- and
// reported as a warning.
//
// XML is parsed with expat (libexpat1-dev), streaming: Debian 12 ships and security-maintains it, it is
// already a dependency of the base system (git, python3), it is a small C library with no further
// dependencies, it parses push-style from chunks so the ~80 MB advanced file never needs to be in
// memory, and since 2.4 it bounds entity amplification. Memory used is bounded by the extracted
// addresses, the FeatureType table and kMaxTextBytes; element nesting is bounded by kMaxDepth. A
// DOCTYPE is refused (the OFAC files have none; refusing it rules out entity tricks altogether).
//
// Pure: the caller reads the file and feeds its bytes. Nothing throws on bad input.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/address_list.hpp"

namespace txguard::policy {

inline constexpr std::string_view kDigitalCurrencyPrefix = "Digital Currency Address - ";
/// Longest text kept for one element (a VersionDetail, idNumber, FeatureType...); more is kBadXml.
inline constexpr std::size_t kMaxTextBytes = 64 * 1024;
/// Deepest element nesting accepted (the advanced file nests about 10 deep).
inline constexpr std::size_t kMaxDepth = 64;
/// At most this many warnings are kept; the counters keep counting beyond it.
inline constexpr std::size_t kMaxWarnings = 200;

struct OfacOptions {
  /// Tickers to extract, e.g. {"ETH", "USDT"}; exact, upper-case as OFAC writes them. Empty = all.
  /// A ticker the file does not have yields zero entries (counted as 0), not an error.
  std::vector<std::string> tickers;
  /// Keep only EVM-shaped addresses (for an EVM guard); the others are counted in skipped.
  bool evm_only = false;
};

struct OfacExtract {
  AddressList list;
  /// Distinct addresses found per ticker (an address under two tickers counts in both); every
  /// requested ticker is present, with 0 when the file has none.
  std::map<std::string, std::size_t> per_ticker;
  std::size_t entries = 0;       // address occurrences read for the selected tickers
  std::size_t duplicates = 0;    // occurrences of a (ticker, address) pair already seen
  std::size_t placeholders = 0;  // fields with no address in them (placeholder text)
  std::size_t mismatched = 0;    // addresses whose shape does not fit their ticker
  std::size_t skipped = 0;       // non-EVM addresses left out with evm_only
  /// Date of the publication, YYYY-MM-DD, when the file states it (DateOfIssue, Publish_Date).
  std::string issued;
  /// Human-readable notes ("line 120: placeholder text 'See OFAC...' under ETH"), at most kMaxWarnings.
  std::vector<std::string> warnings;
};

/// Streaming reader for sdn_advanced.xml and sdn.xml. Feed the bytes in chunks of any size, then call
/// finish() once. After an error every further call returns that error. Not thread-safe; one reader
/// per document. Errors: kBadXml naming the line (malformed XML, DOCTYPE, wrong root element, a
/// Feature before any FeatureType was defined, text or nesting beyond the bounds).
class SdnXmlReader {
 public:
  enum class Format { kAdvanced, kLegacy };

  SdnXmlReader(Format format, OfacOptions options);
  ~SdnXmlReader();
  SdnXmlReader(const SdnXmlReader&) = delete;
  SdnXmlReader& operator=(const SdnXmlReader&) = delete;

  std::expected<void, ListError> feed(std::string_view chunk);
  /// Ends the document and returns what was extracted; the reader is spent afterwards.
  Parsed<OfacExtract> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One-shot helpers over a whole document in memory.
Parsed<OfacExtract> parse_sdn_advanced(std::string_view xml, const OfacOptions& options);
Parsed<OfacExtract> parse_sdn_xml(std::string_view xml, const OfacOptions& options);

/// sdn.csv: RFC 4180, 12 columns, with or without a header row (a first field "ent_num" marks one);
/// the Remarks column (the 12th) is scanned for "Digital Currency Address - <TICKER> <address>".
/// Errors: kBadCsv, or kMissingColumn for a row with fewer than 12 fields, with the line.
Parsed<OfacExtract> parse_sdn_csv(std::string_view csv, const OfacOptions& options);

}  // namespace txguard::policy
