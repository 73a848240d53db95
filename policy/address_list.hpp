// Named address lists ("sanctioned", "dprk", "cold-wallets") that a policy rule can deny or allow on,
// and the parsers that read them from text: plain lines, CSV with a named column, JSON arrays of
// strings, and txguard's own list file (the output of `txguard lists import`).
//
// Matching: an EVM address ("0x" + 40 hex digits) is stored as codec::Address and matches whatever
// the case of either side, so one entry covers the address on every EVM chain. Any other address
// (Bitcoin, Tron, Solana, Monero...) is kept as its exact string and matches only byte for byte,
// because those encodings are case-sensitive.
//
// Pure: the parsers take text already read by the caller and never open files; the free functions
// are thread-safe. Nothing here throws on bad input; every malformed entry is a ListError naming the
// 1-based line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"

namespace txguard::policy {

enum class ListErrc {
  kBadAddress,     // an entry that is not an address (wrong length, bad characters, 0x with bad hex)
  kBadCsv,         // an unterminated quote, a quote inside an unquoted field, text after a closing quote
  kMissingColumn,  // the CSV header has no column of the requested name, or a row is too short for it
  kBadJson,        // not JSON, not an array, or an element that is not a string
  kBadXml,         // malformed XML, a DOCTYPE, the wrong root element, nesting or text beyond the bounds
  kBadHeader,      // a list file header that contradicts its entries (count, content_hash) or repeats a key
  kEmpty,          // a required value that is empty (an empty CSV address field)
};

/// Stable kebab-case name of a code, e.g. "bad-address".
std::string_view to_string(ListErrc code) noexcept;

struct ListError {
  ListErrc code;
  /// 1-based line of the input where the problem is; 0 when it concerns the input as a whole.
  std::size_t line = 0;
  /// What is wrong, for a human; quotes at most a short prefix of the offending text.
  std::string detail;

  /// One line: "<code> at line <n>: <detail>" (or "<code>: <detail>" when line is 0).
  std::string message() const;
};

template <class T>
using Parsed = std::expected<T, ListError>;

/// The shape of an address, judged from its text only (no base58/bech32 checksum is verified).
enum class ChainFamily {
  kEvm,      // 0x + 40 hex digits
  kBitcoin,  // base58 starting with 1 or 3 (26-35 chars), or bech32 "bc1..."
  kTron,     // base58 "T" + 33 chars
  kOther,    // any other 20-128 characters of [A-Za-z0-9:] (Monero, Ripple, Solana, "bitcoincash:"...)
};

std::string_view to_string(ChainFamily family) noexcept;

/// Classifies `text` as an address. EVM text must be exactly 0x + 40 hex digits (any case; the
/// EIP-55 checksum is not required here, see AddressList::add); anything starting with 0x/0X that is
/// not, or any other text outside the kOther shape, gives an error saying why.
std::expected<ChainFamily, std::string> classify_address(std::string_view text);

/// Where a list came from. Recorded in the list file header; not part of the content hash.
struct ListMetadata {
  std::string name;    // the name a policy refers to, e.g. "ofac-sdn-eth"
  std::string source;  // free text: the URL or file and version it was made from
  std::string as_of;   // date of the source data, YYYY-MM-DD, empty when unknown
  std::string ticker;  // OFAC tickers it was extracted for, comma-separated, empty when not OFAC
  std::vector<std::string> notes;  // free-text caveats, one per "# note:" line
};

/// A set of addresses with fast membership tests. Not thread-safe for mutation; concurrent const
/// use (contains, content_hash) is safe once it is built.
class AddressList {
 public:
  enum class Added { kNew, kDuplicate };

  ListMetadata metadata;

  /// Adds one address given as text (surrounding white space is not trimmed). A mixed-case EVM
  /// address with a wrong EIP-55 checksum is accepted, normalised and counted in
  /// checksum_mismatches(): official lists contain such entries, and refusing them would silently
  /// leave a sanctioned address out. Errors say what is wrong with the text.
  std::expected<Added, std::string> add(std::string_view text);
  Added add(const codec::Address& address);

  /// O(1) expected. The address matches whatever case it was written in.
  bool contains(const codec::Address& address) const noexcept { return evm_.contains(address); }
  /// An EVM text (any case, checksum not checked) is looked up as an address, anything else exactly.
  bool contains(std::string_view text) const;

  std::size_t size() const noexcept { return evm_.size() + other_.size(); }
  std::size_t evm_count() const noexcept { return evm_.size(); }
  std::size_t other_count() const noexcept { return other_.size(); }
  /// Mixed-case EVM entries whose EIP-55 checksum was wrong (counted once per add call).
  std::size_t checksum_mismatches() const noexcept { return checksum_mismatches_; }
  /// The family of the entry matching `text` (as contains() matches), nullopt when it is not listed.
  std::optional<ChainFamily> family_of(std::string_view text) const;

  /// The canonical content: every entry, EVM addresses as "0x" + lower-case hex, others verbatim,
  /// sorted by byte value, no duplicates. These are exactly the entry lines of the list file.
  std::vector<std::string> canonical_entries() const;

  /// Keccak-256 of the canonical entries, each followed by "\n" (i.e. of the list file's entry lines).
  /// Independent of insertion order and of the case EVM entries were written in; metadata is not
  /// included, so renaming a list does not change it. Keccak-256 rather than SHA-256 because the codec
  /// already provides it (no new crypto dependency in the policy layer) and every Ethereum tool can
  /// recompute it; an auditor checks a list with `grep -v '^#' FILE | <keccak-256 tool>`.
  /// O(n log n): callers record it once per loaded list.
  codec::Hash32 content_hash() const;

 private:
  std::unordered_set<codec::Address> evm_;
  std::unordered_map<std::string, ChainFamily> other_;
  std::size_t checksum_mismatches_ = 0;
};

/// Counts a parser reports beside the list.
struct ParseStats {
  std::size_t entries = 0;     // address entries read (before removing duplicates)
  std::size_t duplicates = 0;  // entries already in the list
  std::size_t skipped = 0;     // entries left out on purpose (non-EVM with evm_only, excluded CSV rows)
};

struct ParseOptions {
  /// Keep only EVM addresses; others are counted in ParseStats::skipped instead of added.
  bool evm_only = false;
  /// CSV only: leave out rows whose column `first` holds exactly `second` (after trimming spaces),
  /// counted in ParseStats::skipped; e.g. {"category", "victim"}. A column not in the header is
  /// kMissingColumn.
  std::vector<std::pair<std::string, std::string>> exclude_rows;
};

struct ParsedList {
  AddressList list;
  ParseStats stats;
};

/// One address per line. Blank lines and lines whose first non-blank character is '#' are ignored;
/// leading and trailing spaces, tabs and a CR are trimmed. Any other line must be one address.
Parsed<ParsedList> parse_lines(std::string_view text, const ParseOptions& options = {});

/// CSV per RFC 4180 with a header row; the address is taken from the column named `column` (exact
/// match after trimming spaces). Fields may be quoted, with commas, line breaks and doubled quotes
/// inside; lines end in LF or CRLF; empty lines are skipped. Errors name the line where the offending
/// record starts (kBadCsv, kMissingColumn, kEmpty, kBadAddress).
Parsed<ParsedList> parse_csv_list(std::string_view text, std::string_view column, const ParseOptions& options = {});

/// A JSON array of strings, each an address (e.g. 0xB10C's sanctioned_addresses_ETH.json). Malformed
/// JSON, a non-array top level, a non-string element or a bad address is an error naming the line of
/// the element (and its index as a JSON path, "$[3]").
Parsed<ParsedList> parse_json_list(std::string_view text, const ParseOptions& options = {});

/// txguard's list file: the plain-lines format whose leading comment lines may be "# key: value"
/// headers (keys txguard-list, name, source, as_of, ticker, count, content_hash, note). Unknown keys
/// are ignored (forward compatible); a repeated key other than note is kBadHeader. When present,
/// count and content_hash must match the entries (kBadHeader, line of that header): a list edited by
/// hand without refreshing them is refused rather than trusted.
Parsed<ParsedList> parse_list_file(std::string_view text);

/// Writes the list file for `list`: the header (txguard-list: 1, name, source, as_of, ticker, the
/// notes, count, content_hash) then the canonical entries, one per line. Deterministic, so two imports
/// of the same data are byte-identical and diff cleanly. Metadata values are written trimmed, on one
/// line (line breaks replaced by spaces).
std::string to_list_file(const AddressList& list);

/// One CSV record and the 1-based line it starts on.
struct CsvRecord {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

/// Splits RFC 4180 CSV into records (shared by parse_csv_list and the OFAC sdn.csv reader).
/// Empty lines produce no record. Errors: kBadCsv with the line of the problem.
Parsed<std::vector<CsvRecord>> parse_csv(std::string_view text);

}  // namespace txguard::policy
