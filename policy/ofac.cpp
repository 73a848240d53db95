#include "policy/ofac.hpp"

#include <expat.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

namespace txguard::policy {
namespace {

std::string_view trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::string short_quote(std::string_view text) {
  constexpr std::size_t kLimit = 60;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kLimit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : ' ';
  }
  if (text.size() > kLimit) out += "...";
  return out + "'";
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The address shape a ticker's own chain uses, where there is exactly one. Stablecoin tickers (USDT,
// USDC) name an asset that lives on several chains, so they have none.
std::optional<ChainFamily> expected_family(std::string_view ticker) {
  if (ticker == "XBT") return ChainFamily::kBitcoin;
  if (ticker == "ETH" || ticker == "ETC" || ticker == "ARB" || ticker == "BSC") return ChainFamily::kEvm;
  if (ticker == "TRX") return ChainFamily::kTron;
  return std::nullopt;
}

// Accumulates the addresses of one publication, whatever its format, so all three judge alike.
class Collector {
 public:
  explicit Collector(OfacOptions options) : options_(std::move(options)) {
    for (const auto& t : options_.tickers) out_.per_ticker.emplace(t, 0);
  }

  bool wants(std::string_view ticker) const {
    return options_.tickers.empty() ||
           std::find(options_.tickers.begin(), options_.tickers.end(), ticker) != options_.tickers.end();
  }

  // One field of the publication filed under `ticker`: zero, one or several addresses.
  void field(std::string_view text, const std::string& ticker, std::size_t line) {
    std::size_t found = 0;
    std::size_t pos = 0;
    const auto separator = [](char c) { return c == ',' || c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (pos < text.size()) {
      while (pos < text.size() && separator(text[pos])) ++pos;
      std::size_t end = pos;
      while (end < text.size() && !separator(text[end])) ++end;
      auto token = text.substr(pos, end - pos);
      pos = end;
      while (!token.empty() && token.back() == '.') token.remove_suffix(1);
      if (token.empty()) continue;
      auto family = classify_address(token);
      if (!family) {
        if (token.starts_with("0x") || token.starts_with("0X")) warn(line, "malformed " + ticker + " entry: " + family.error());
        continue;
      }
      ++found;
      address(token, *family, ticker, line);
    }
    if (found == 0) {
      ++out_.placeholders;
      warn(line, "no address in " + ticker + " field " + short_quote(text) + " (placeholder text skipped)");
    }
  }

  void warn(std::size_t line, std::string text) {
    if (out_.warnings.size() < kMaxWarnings) out_.warnings.push_back("line " + std::to_string(line) + ": " + std::move(text));
  }

  OfacExtract& out() { return out_; }

 private:
  void address(std::string_view token, ChainFamily family, const std::string& ticker, std::size_t line) {
    ++out_.entries;
    const auto expected = expected_family(ticker);
    if (expected && *expected != family) {
      ++out_.mismatched;
      warn(line, ticker + " entry " + std::string(token) + " has the shape of a " + std::string(to_string(family)) +
                     " address; kept, since it is listed whatever the tag");
    }
    const std::string key = family == ChainFamily::kEvm ? lower(token) : std::string(token);
    if (!seen_.emplace(ticker, key).second) {
      ++out_.duplicates;
      return;
    }
    ++out_.per_ticker[ticker];
    if (options_.evm_only && family != ChainFamily::kEvm) {
      ++out_.skipped;
      return;
    }
    // classify_address accepted it, so add cannot fail.
    (void)out_.list.add(token);
  }

  OfacOptions options_;
  OfacExtract out_;
  std::set<std::pair<std::string, std::string>> seen_;
};

std::string_view local_name(const XML_Char* name) {
  std::string_view full(name);
  const auto bar = full.rfind('|');
  return bar == std::string_view::npos ? full : full.substr(bar + 1);
}

std::optional<std::string_view> attribute(const XML_Char** attrs, std::string_view wanted) {
  for (std::size_t i = 0; attrs[i] != nullptr && attrs[i + 1] != nullptr; i += 2) {
    if (local_name(attrs[i]) == wanted) return std::string_view(attrs[i + 1]);
  }
  return std::nullopt;
}

}  // namespace

struct SdnXmlReader::Impl {
  Impl(Format f, OfacOptions options) : format(f), collector(std::move(options)) {
    // '|' separates namespace URI and local name; neither namespace URI contains it.
    parser = XML_ParserCreateNS(nullptr, '|');
  }
  ~Impl() {
    if (parser != nullptr) XML_ParserFree(parser);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Format format;
  Collector collector;
  XML_Parser parser = nullptr;
  std::optional<ListError> error;
  bool finished = false;
  bool root_seen = false;
  std::vector<std::string> stack;  // local names of the open elements, at most kMaxDepth

  // Text of the element being collected, and the line where it started.
  bool collecting = false;
  std::string text;
  std::size_t text_line = 0;

  // sdn_advanced.xml
  std::map<std::string, std::string, std::less<>> ticker_by_feature_type;  // FeatureType ID -> wanted ticker
  std::size_t feature_types = 0;
  std::string feature_type_id;
  std::string feature_ticker;  // ticker of the open Feature, empty if not a wanted address feature
  std::string year, month, day;

  // sdn.xml
  std::string id_type, id_number;
  std::size_t id_number_line = 0;

  std::size_t line() const { return static_cast<std::size_t>(XML_GetCurrentLineNumber(parser)); }

  void fail(std::string detail) {
    if (!error) error = ListError{ListErrc::kBadXml, line(), std::move(detail)};
    XML_StopParser(parser, XML_FALSE);
  }

  std::string_view parent() const { return stack.size() >= 2 ? std::string_view(stack[stack.size() - 2]) : std::string_view(); }

  void collect() {
    collecting = true;
    text.clear();
    text_line = line();
  }

  void start(std::string_view name, const XML_Char** attrs) {
    if (!root_seen) {
      root_seen = true;
      const std::string_view want = format == Format::kAdvanced ? "Sanctions" : "sdnList";
      if (name != want) {
        return fail("root element is <" + std::string(name) + ">, expected <" + std::string(want) +
                    "> (is this the right --format?)");
      }
    }
    if (stack.size() >= kMaxDepth) return fail("elements nested deeper than " + std::to_string(kMaxDepth));
    stack.emplace_back(name);
    collecting = false;
    if (format == Format::kAdvanced) {
      start_advanced(name, attrs);
    } else {
      start_legacy(name);
    }
  }

  void start_advanced(std::string_view name, const XML_Char** attrs) {
    if (name == "FeatureType" && parent() == "FeatureTypeValues") {
      feature_type_id = std::string(attribute(attrs, "ID").value_or(""));
      collect();
    } else if (name == "Feature") {
      // The schema puts ReferenceValueSets before DistinctParties; a Feature before any FeatureType
      // cannot be resolved in one pass, and a file in that order is not an OFAC file.
      if (feature_types == 0) return fail("<Feature> before any <FeatureType> was defined");
      const auto type_id = attribute(attrs, "FeatureTypeID");
      const auto it = type_id ? ticker_by_feature_type.find(*type_id) : ticker_by_feature_type.end();
      feature_ticker = it == ticker_by_feature_type.end() ? std::string() : it->second;
    } else if (name == "VersionDetail" && !feature_ticker.empty()) {
      collect();
    } else if ((name == "Year" || name == "Month" || name == "Day") && parent() == "DateOfIssue") {
      collect();
    }
  }

  void start_legacy(std::string_view name) {
    if (name == "id" && parent() == "idList") {
      id_type.clear();
      id_number.clear();
    } else if ((name == "idType" || name == "idNumber") && parent() == "id") {
      collect();
    } else if (name == "Publish_Date" && parent() == "publshInformation") {
      collect();
    }
  }

  void end() {
    if (stack.empty()) return;
    const std::string name = std::move(stack.back());
    const std::string parent_name(parent());
    stack.pop_back();
    const bool had_text = collecting;
    collecting = false;
    if (format == Format::kAdvanced) {
      end_advanced(name, parent_name, had_text);
    } else {
      end_legacy(name, parent_name, had_text);
    }
  }

  void end_advanced(const std::string& name, const std::string& parent_name, bool had_text) {
    if (name == "FeatureType" && had_text) {
      ++feature_types;
      const auto value = trim(text);
      if (value.starts_with(kDigitalCurrencyPrefix)) {
        const std::string ticker(trim(value.substr(kDigitalCurrencyPrefix.size())));
        if (collector.wants(ticker)) ticker_by_feature_type[feature_type_id] = ticker;
      }
    } else if (name == "Feature") {
      feature_ticker.clear();
    } else if (name == "VersionDetail" && had_text && !feature_ticker.empty()) {
      collector.field(text, feature_ticker, text_line);
    } else if (parent_name == "DateOfIssue" && had_text) {
      std::string value(trim(text));
      if (name == "Year") year = value;
      if (name == "Month") month = value;
      if (name == "Day") day = value;
    }
  }

  void end_legacy(const std::string& name, const std::string&, bool had_text) {
    if (name == "idType" && had_text) {
      id_type = trim(text);
    } else if (name == "idNumber" && had_text) {
      id_number = text;
      id_number_line = text_line;
    } else if (name == "id") {
      if (std::string_view(id_type).starts_with(kDigitalCurrencyPrefix)) {
        const std::string ticker(trim(std::string_view(id_type).substr(kDigitalCurrencyPrefix.size())));
        if (collector.wants(ticker)) collector.field(id_number, ticker, id_number_line);
      }
    } else if (name == "Publish_Date" && had_text) {
      // MM/DD/YYYY in the files seen; anything else is kept out rather than misread.
      const auto value = trim(text);
      if (value.size() == 10 && value[2] == '/' && value[5] == '/') {
        collector.out().issued = std::string(value.substr(6, 4)) + "-" + std::string(value.substr(0, 2)) + "-" +
                                 std::string(value.substr(3, 2));
      }
    }
  }

  void characters(std::string_view chunk) {
    if (!collecting) return;
    if (text.size() + chunk.size() > kMaxTextBytes) {
      return fail("text of <" + stack.back() + "> longer than " + std::to_string(kMaxTextBytes) + " bytes");
    }
    text += chunk;
  }

  std::expected<void, ListError> status_error() {
    if (!error) {
      error = ListError{ListErrc::kBadXml, line(), XML_ErrorString(XML_GetErrorCode(parser))};
    }
    return std::unexpected(*error);
  }
};

SdnXmlReader::SdnXmlReader(Format format, OfacOptions options)
    : impl_(std::make_unique<Impl>(format, std::move(options))) {
  XML_Parser p = impl_->parser;
  if (p == nullptr) return;
  XML_SetUserData(p, impl_.get());
  XML_SetElementHandler(
      p, [](void* data, const XML_Char* name, const XML_Char** attrs) { static_cast<Impl*>(data)->start(local_name(name), attrs); },
      [](void* data, const XML_Char*) { static_cast<Impl*>(data)->end(); });
  XML_SetCharacterDataHandler(p, [](void* data, const XML_Char* s, int len) {
    static_cast<Impl*>(data)->characters(std::string_view(s, static_cast<std::size_t>(len)));
  });
  XML_SetStartDoctypeDeclHandler(p, [](void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    static_cast<Impl*>(data)->fail("a DOCTYPE is not accepted (OFAC files have none)");
  });
}

SdnXmlReader::~SdnXmlReader() = default;

std::expected<void, ListError> SdnXmlReader::feed(std::string_view chunk) {
  Impl& s = *impl_;
  if (s.parser == nullptr) return std::unexpected(ListError{ListErrc::kBadXml, 0, "out of memory creating the XML parser"});
  if (s.error) return std::unexpected(*s.error);
  if (s.finished) return std::unexpected(ListError{ListErrc::kBadXml, 0, "feed after finish"});
  // XML_Parse takes an int length: hand over large chunks in pieces.
  constexpr std::size_t kPiece = 1 << 20;
  while (!chunk.empty()) {
    const std::size_t n = std::min(chunk.size(), kPiece);
    if (XML_Parse(s.parser, chunk.data(), static_cast<int>(n), XML_FALSE) != XML_STATUS_OK) return s.status_error();
    chunk.remove_prefix(n);
  }
  if (s.error) return std::unexpected(*s.error);
  return {};
}

Parsed<OfacExtract> SdnXmlReader::finish() {
  Impl& s = *impl_;
  if (s.parser == nullptr) return std::unexpected(ListError{ListErrc::kBadXml, 0, "out of memory creating the XML parser"});
  if (s.error) return std::unexpected(*s.error);
  if (s.finished) return std::unexpected(ListError{ListErrc::kBadXml, 0, "finish called twice"});
  s.finished = true;
  if (XML_Parse(s.parser, nullptr, 0, XML_TRUE) != XML_STATUS_OK) return std::unexpected(s.status_error().error());
  if (s.error) return std::unexpected(*s.error);
  OfacExtract& out = s.collector.out();
  if (s.format == Format::kAdvanced && s.year.size() == 4 && !s.month.empty() && !s.day.empty() && s.month.size() <= 2 &&
      s.day.size() <= 2) {
    out.issued = s.year + "-" + std::string(2 - s.month.size(), '0') + s.month + "-" + std::string(2 - s.day.size(), '0') + s.day;
  }
  return std::move(out);
}

Parsed<OfacExtract> parse_sdn_advanced(std::string_view xml, const OfacOptions& options) {
  SdnXmlReader reader(SdnXmlReader::Format::kAdvanced, options);
  if (auto fed = reader.feed(xml); !fed) return std::unexpected(fed.error());
  return reader.finish();
}

Parsed<OfacExtract> parse_sdn_xml(std::string_view xml, const OfacOptions& options) {
  SdnXmlReader reader(SdnXmlReader::Format::kLegacy, options);
  if (auto fed = reader.feed(xml); !fed) return std::unexpected(fed.error());
  return reader.finish();
}

Parsed<OfacExtract> parse_sdn_csv(std::string_view csv, const OfacOptions& options) {
  constexpr std::size_t kColumns = 12;
  constexpr std::size_t kRemarks = 11;
  auto records = parse_csv(csv);
  if (!records) return std::unexpected(records.error());
  Collector collector(options);
  for (std::size_t r = 0; r < records->size(); ++r) {
    const auto& record = (*records)[r];
    if (r == 0 && !record.fields.empty() && trim(record.fields[0]) == "ent_num") continue;
    if (record.fields.size() < kColumns) {
      return std::unexpected(ListError{ListErrc::kMissingColumn, record.line,
                                       "row has " + std::to_string(record.fields.size()) + " fields, sdn.csv has 12"});
    }
    // "Digital Currency Address - XBT 1Q6sa...; alt. Digital Currency Address - ETH 0xd882...; ..."
    const std::string_view remarks = record.fields[kRemarks];
    std::size_t pos = 0;
    while ((pos = remarks.find(kDigitalCurrencyPrefix, pos)) != std::string_view::npos) {
      pos += kDigitalCurrencyPrefix.size();
      std::size_t end = pos;
      while (end < remarks.size() && ((remarks[end] >= 'A' && remarks[end] <= 'Z') || (remarks[end] >= '0' && remarks[end] <= '9'))) ++end;
      const std::string ticker(remarks.substr(pos, end - pos));
      pos = end;
      while (pos < remarks.size() && remarks[pos] == ' ') ++pos;
      end = pos;
      while (end < remarks.size() && remarks[end] != ';' && remarks[end] != ' ') ++end;
      const auto value = remarks.substr(pos, end - pos);
      pos = end;
      if (ticker.empty() || !collector.wants(ticker)) continue;
      collector.field(value, ticker, record.line);
    }
  }
  return std::move(collector.out());
}

}  // namespace txguard::policy
