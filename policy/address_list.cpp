#include "policy/address_list.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"

namespace txguard::policy {

std::string_view to_string(ListErrc code) noexcept {
  switch (code) {
    case ListErrc::kBadAddress: return "bad-address";
    case ListErrc::kBadCsv: return "bad-csv";
    case ListErrc::kMissingColumn: return "missing-column";
    case ListErrc::kBadJson: return "bad-json";
    case ListErrc::kBadXml: return "bad-xml";
    case ListErrc::kBadHeader: return "bad-header";
    case ListErrc::kEmpty: return "empty";
  }
  return "unknown";
}

std::string ListError::message() const {
  std::string out(to_string(code));
  if (line != 0) out += " at line " + std::to_string(line);
  if (!detail.empty()) out += ": " + detail;
  return out;
}

std::string_view to_string(ChainFamily family) noexcept {
  switch (family) {
    case ChainFamily::kEvm: return "evm";
    case ChainFamily::kBitcoin: return "bitcoin";
    case ChainFamily::kTron: return "tron";
    case ChainFamily::kOther: return "other";
  }
  return "unknown";
}

namespace {

constexpr std::size_t kMinOtherLength = 20;
constexpr std::size_t kMaxOtherLength = 128;
constexpr std::size_t kQuoteLimit = 48;

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// The Bitcoin base58 alphabet: no 0, O, I or l.
bool is_base58(char c) { return is_alnum(c) && c != '0' && c != 'O' && c != 'I' && c != 'l'; }

bool all_of(std::string_view text, bool (*pred)(char)) { return std::all_of(text.begin(), text.end(), pred); }

// A short printable quote of offending input for error messages: bounded, control bytes shown as '?'.
std::string quote(std::string_view text) {
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kQuoteLimit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (text.size() > kQuoteLimit) out += "...";
  return out + "'";
}

std::string_view trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

ListError error(ListErrc code, std::size_t line, std::string detail) { return ListError{code, line, std::move(detail)}; }

// Adds one entry read from line `line`; shared by every text parser so they judge addresses alike.
std::expected<void, ListError> add_entry(ParsedList& out, std::string_view text, std::size_t line,
                                         const ParseOptions& options) {
  auto family = classify_address(text);
  if (!family) return std::unexpected(error(ListErrc::kBadAddress, line, family.error()));
  ++out.stats.entries;
  if (options.evm_only && *family != ChainFamily::kEvm) {
    ++out.stats.skipped;
    return {};
  }
  auto added = out.list.add(text);
  if (!added) return std::unexpected(error(ListErrc::kBadAddress, line, added.error()));
  if (*added == AddressList::Added::kDuplicate) ++out.stats.duplicates;
  return {};
}

}  // namespace

std::expected<ChainFamily, std::string> classify_address(std::string_view text) {
  if (text.empty()) return std::unexpected("empty address");
  if (text.starts_with("0x") || text.starts_with("0X")) {
    if (text[1] == 'X') return std::unexpected("EVM address " + quote(text) + " must start with lower-case 0x");
    const auto digits = text.substr(2);
    if (!all_of(digits, is_hex)) return std::unexpected("EVM address " + quote(text) + " has a non-hex digit");
    if (digits.size() != 40) {
      return std::unexpected("EVM address " + quote(text) + " has " + std::to_string(digits.size()) +
                             " hex digits, expected 40");
    }
    return ChainFamily::kEvm;
  }
  if (text.size() < kMinOtherLength || text.size() > kMaxOtherLength ||
      !all_of(text, [](char c) { return is_alnum(c) || c == ':'; })) {
    return std::unexpected(quote(text) + " is not an address (expected 0x + 40 hex digits, or 20 to 128 of A-Z a-z 0-9 :)");
  }
  // Shapes only: Tron is base58check with version byte 0x41, which always encodes to 'T' + 33 chars;
  // Bitcoin P2PKH/P2SH are base58 starting with 1/3, segwit is bech32 (BIP 173) "bc1" lower-case.
  if (text.size() == 34 && text.front() == 'T' && all_of(text, is_base58)) return ChainFamily::kTron;
  if ((text.front() == '1' || text.front() == '3') && text.size() >= 26 && text.size() <= 35 && all_of(text, is_base58)) {
    return ChainFamily::kBitcoin;
  }
  if (text.starts_with("bc1") && text.size() >= 14 && text.size() <= 74 &&
      all_of(text, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'); })) {
    return ChainFamily::kBitcoin;
  }
  return ChainFamily::kOther;
}

std::expected<AddressList::Added, std::string> AddressList::add(std::string_view text) {
  auto family = classify_address(text);
  if (!family) return std::unexpected(family.error());
  if (*family != ChainFamily::kEvm) {
    return other_.emplace(std::string(text), *family).second ? Added::kNew : Added::kDuplicate;
  }
  auto address = codec::parse_address(text);
  if (!address && address.error().code == codec::DecodeErrc::kBadChecksum) {
    // EIP-55 is a typo check for people typing addresses, not part of the address: the official SDN
    // data has mixed-case entries with wrong checksums, and they are still the sanctioned addresses.
    ++checksum_mismatches_;
    address = codec::parse_address(lower(text));
  }
  if (!address) return std::unexpected("EVM address " + quote(text) + ": " + address.error().message());
  return add(*address);
}

AddressList::Added AddressList::add(const codec::Address& address) {
  return evm_.insert(address).second ? Added::kNew : Added::kDuplicate;
}

bool AddressList::contains(std::string_view text) const { return family_of(text).has_value(); }

std::optional<ChainFamily> AddressList::family_of(std::string_view text) const {
  if (text.starts_with("0x") && text.size() == 42) {
    auto address = codec::parse_address(lower(text));
    if (address) return evm_.contains(*address) ? std::optional(ChainFamily::kEvm) : std::nullopt;
  }
  const auto it = other_.find(std::string(text));
  if (it == other_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> AddressList::canonical_entries() const {
  std::vector<std::string> out;
  out.reserve(size());
  for (const auto& address : evm_) out.push_back(codec::to_hex(address.view()));
  for (const auto& [text, family] : other_) out.push_back(text);
  std::sort(out.begin(), out.end());
  return out;
}

codec::Hash32 AddressList::content_hash() const {
  std::string body;
  for (const auto& entry : canonical_entries()) {
    body += entry;
    body += '\n';
  }
  return codec::keccak256(codec::view(body));
}

Parsed<ParsedList> parse_lines(std::string_view text, const ParseOptions& options) {
  ParsedList out;
  std::size_t line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line;
    const auto end = text.find('\n', pos);
    const auto raw = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    const auto entry = trim(raw);
    if (entry.empty() || entry.front() == '#') continue;
    if (auto added = add_entry(out, entry, line, options); !added) return std::unexpected(added.error());
  }
  return out;
}

Parsed<std::vector<CsvRecord>> parse_csv(std::string_view text) {
  // RFC 4180 section 2: fields separated by commas, records by line breaks; a field is either plain
  // (no quotes at all) or wholly enclosed in double quotes, inside which "" is one quote and commas
  // and line breaks are data. Anything else is refused rather than guessed at.
  std::vector<CsvRecord> records;
  CsvRecord record;
  std::string field;
  bool in_record = false;
  std::size_t line = 1;
  std::size_t i = 0;
  const std::size_t n = text.size();
  const auto at_line_break = [&](std::size_t k) {
    return k < n && (text[k] == '\n' || (text[k] == '\r' && k + 1 < n && text[k + 1] == '\n'));
  };
  while (true) {
    if (i == n) {
      if (in_record) {
        record.fields.push_back(std::move(field));
        records.push_back(std::move(record));
      }
      break;
    }
    if (!in_record) {
      if (at_line_break(i)) {  // an empty line is no record
        i += text[i] == '\r' ? std::size_t{2} : std::size_t{1};
        ++line;
        continue;
      }
      record.line = line;
      in_record = true;
    }
    if (text[i] == '"') {
      const std::size_t opened = line;
      ++i;
      bool closed = false;
      while (i < n) {
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      if (!closed) return std::unexpected(error(ListErrc::kBadCsv, opened, "quoted field is never closed"));
      if (i < n && text[i] != ',' && !at_line_break(i)) {
        return std::unexpected(error(ListErrc::kBadCsv, line, "text after a closing quote"));
      }
    } else {
      while (i < n && text[i] != ',' && !at_line_break(i)) {
        if (text[i] == '"') return std::unexpected(error(ListErrc::kBadCsv, line, "quote inside an unquoted field"));
        field += text[i++];
      }
    }
    record.fields.push_back(std::move(field));
    field.clear();
    if (i == n) {
      records.push_back(std::move(record));
      break;
    }
    if (text[i] == ',') {
      ++i;
      continue;
    }
    i += text[i] == '\r' ? std::size_t{2} : std::size_t{1};
    ++line;
    records.push_back(std::move(record));
    record = CsvRecord{};
    in_record = false;
  }
  return records;
}

Parsed<ParsedList> parse_csv_list(std::string_view text, std::string_view column, const ParseOptions& options) {
  auto records = parse_csv(text);
  if (!records) return std::unexpected(records.error());
  if (records->empty()) return std::unexpected(error(ListErrc::kMissingColumn, 1, "no header row"));
  const auto& header = records->front();
  std::size_t index = header.fields.size();
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    if (trim(header.fields[i]) == column) {
      if (index != header.fields.size()) {
        return std::unexpected(error(ListErrc::kMissingColumn, header.line, "column '" + std::string(column) + "' appears twice"));
      }
      index = i;
    }
  }
  if (index == header.fields.size()) {
    return std::unexpected(error(ListErrc::kMissingColumn, header.line, "no column named " + quote(column)));
  }
  std::vector<std::pair<std::size_t, std::string_view>> excluded;  // column index, value
  for (const auto& [name, value] : options.exclude_rows) {
    const auto it = std::find_if(header.fields.begin(), header.fields.end(), [&](const std::string& f) { return trim(f) == name; });
    if (it == header.fields.end()) {
      return std::unexpected(error(ListErrc::kMissingColumn, header.line, "no column named " + quote(name) + " to exclude rows by"));
    }
    excluded.emplace_back(static_cast<std::size_t>(it - header.fields.begin()), value);
  }
  ParsedList out;
  for (std::size_t r = 1; r < records->size(); ++r) {
    const auto& record = (*records)[r];
    const bool exclude = std::any_of(excluded.begin(), excluded.end(), [&](const auto& e) {
      return e.first < record.fields.size() && trim(record.fields[e.first]) == e.second;
    });
    if (exclude) {
      ++out.stats.skipped;
      continue;
    }
    if (record.fields.size() <= index) {
      return std::unexpected(error(ListErrc::kMissingColumn, record.line,
                                   "row has " + std::to_string(record.fields.size()) + " fields, no '" + std::string(column) + "'"));
    }
    const auto value = trim(record.fields[index]);
    if (value.empty()) return std::unexpected(error(ListErrc::kEmpty, record.line, "empty '" + std::string(column) + "' field"));
    if (auto added = add_entry(out, value, record.line, options); !added) return std::unexpected(added.error());
  }
  return out;
}

namespace {

std::size_t line_of(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

// Byte offsets of the top-level array's elements, found by a scan that skips strings and counts
// nesting. Runs only on text parse_json_strict has accepted, so the structure is well-formed.
std::vector<std::size_t> element_offsets(std::string_view text) {
  std::vector<std::size_t> out;
  std::size_t depth = 0;
  bool in_string = false;
  bool expect_element = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (expect_element && c != ']') {
      out.push_back(i);
      expect_element = false;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
      if (depth == 1) expect_element = true;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
      expect_element = false;
    } else if (c == ',' && depth == 1) {
      expect_element = true;
    }
  }
  return out;
}

}  // namespace

Parsed<ParsedList> parse_json_list(std::string_view text, const ParseOptions& options) {
  auto json = codec::parse_json_strict(text, 16);
  if (!json) {
    return std::unexpected(error(ListErrc::kBadJson, line_of(text, json.error().offset), json.error().message()));
  }
  if (!json->is_array()) return std::unexpected(error(ListErrc::kBadJson, 1, "top level is not an array"));
  const auto offsets = element_offsets(text);
  ParsedList out;
  for (std::size_t i = 0; i < json->size(); ++i) {
    const std::size_t line = i < offsets.size() ? line_of(text, offsets[i]) : 0;
    const auto& element = (*json)[i];
    const std::string path = codec::json_path("$", i);
    if (!element.is_string()) {
      return std::unexpected(error(ListErrc::kBadJson, line, path + " is a " + std::string(element.type_name()) + ", not a string"));
    }
    const auto& value = element.get_ref<const std::string&>();
    if (auto added = add_entry(out, value, line, options); !added) {
      auto e = added.error();
      e.detail = path + ": " + e.detail;
      return std::unexpected(std::move(e));
    }
  }
  return out;
}

namespace {

constexpr std::string_view kFormatVersion = "1";

// Header values are read back trimmed, so they are written trimmed: the file stays a fixed point.
std::string one_line(std::string_view text) {
  std::string out(trim(text));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

}  // namespace

std::string to_list_file(const AddressList& list) {
  const auto& m = list.metadata;
  std::string out;
  out += "# txguard-list: " + std::string(kFormatVersion) + "\n";
  out += "# name: " + one_line(m.name) + "\n";
  if (!m.source.empty()) out += "# source: " + one_line(m.source) + "\n";
  if (!m.as_of.empty()) out += "# as_of: " + one_line(m.as_of) + "\n";
  if (!m.ticker.empty()) out += "# ticker: " + one_line(m.ticker) + "\n";
  for (const auto& note : m.notes) {
    if (const auto text = one_line(note); !text.empty()) out += "# note: " + text + "\n";
  }
  out += "# count: " + std::to_string(list.size()) + "\n";
  out += "# content_hash: " + codec::to_hex(list.content_hash()) + "\n";
  for (const auto& entry : list.canonical_entries()) {
    out += entry;
    out += '\n';
  }
  return out;
}

Parsed<ParsedList> parse_list_file(std::string_view text) {
  // Header lines are "# key: value" comments before the first entry; a comment without ": " or after
  // the first entry is an ordinary comment. Entries use the plain-lines rules.
  ListMetadata metadata;
  std::map<std::string, std::size_t, std::less<>> seen;  // key -> line
  std::string count_value;
  std::string hash_value;
  std::size_t line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    const auto raw = trim(text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (!raw.empty() && raw.front() != '#') break;
    ++line;
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (raw.empty()) continue;
    auto body = trim(raw.substr(1));
    const auto colon = body.find(": ");
    if (colon == std::string_view::npos) continue;
    const auto key = body.substr(0, colon);
    if (!std::all_of(key.begin(), key.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_' || c == '-'; })) continue;
    const std::string value(trim(body.substr(colon + 2)));
    if (key == "note") {
      metadata.notes.push_back(value);
      continue;
    }
    if (!seen.emplace(std::string(key), line).second) {
      return std::unexpected(error(ListErrc::kBadHeader, line, "header '" + std::string(key) + "' given twice"));
    }
    if (key == "name") metadata.name = value;
    else if (key == "source") metadata.source = value;
    else if (key == "as_of") metadata.as_of = value;
    else if (key == "ticker") metadata.ticker = value;
    else if (key == "count") count_value = value;
    else if (key == "content_hash") hash_value = value;
  }
  auto parsed = parse_lines(text.substr(pos));
  if (!parsed) {
    auto e = parsed.error();
    e.line += line;
    return std::unexpected(std::move(e));
  }
  parsed->list.metadata = std::move(metadata);
  if (const auto it = seen.find("count"); it != seen.end()) {
    const std::string actual = std::to_string(parsed->list.size());
    if (count_value != actual) {
      return std::unexpected(error(ListErrc::kBadHeader, it->second,
                                   "header count " + quote(count_value) + " but the file has " + actual + " distinct entries"));
    }
  }
  if (const auto it = seen.find("content_hash"); it != seen.end()) {
    const std::string actual = codec::to_hex(parsed->list.content_hash());
    if (lower(hash_value) != actual) {
      return std::unexpected(error(ListErrc::kBadHeader, it->second,
                                   "header content_hash does not match the entries (" + actual +
                                       "): the list was edited without re-import"));
    }
  }
  return parsed;
}

}  // namespace txguard::policy
