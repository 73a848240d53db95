// txguard lists: turn address lists (OFAC SDN publications, CSV, JSON, plain lines) into txguard list
// files, and show what a list file holds. The parsing is policy/address_list and policy/ofac; this file
// only reads and writes files.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "guard/cli/cli.hpp"
#include "policy/address_list.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/ofac.hpp"

namespace txguard::cli {
namespace {

using namespace txguard::policy;


constexpr std::string_view kListsUsage =
    "usage: txguard lists import --format FORMAT [options] INPUT\n"
    "       txguard lists show FILE\n"
    "\n"
    "import reads INPUT (a file, or - for standard input) and writes a txguard list file: a header of\n"
    "'# key: value' lines (name, source, as_of, ticker, note, count, content_hash) then one address per\n"
    "line, sorted, EVM addresses in lower case. Counts per ticker go to stderr.\n"
    "\n"
    "formats:\n"
    "  sdn-advanced   OFAC sdn_advanced.xml (either namespace), streamed\n"
    "  sdn-xml        OFAC legacy sdn.xml\n"
    "  sdn-csv        OFAC sdn.csv (addresses in the Remarks column)\n"
    "  csv            CSV with a header row; the address column is chosen with --column\n"
    "  json           a JSON array of address strings\n"
    "  lines          one address per line, # comments\n"
    "\n"
    "options:\n"
    "  --ticker T     OFAC formats: extract \"Digital Currency Address - T\" (repeatable; default all);\n"
    "                 other formats: only recorded in the header\n"
    "  --column NAME  csv: the address column (default address)\n"
    "  --exclude COLUMN=VALUE\n"
    "                 csv: leave out the rows whose COLUMN holds VALUE (repeatable)\n"
    "  --evm-only     keep only EVM (0x) addresses\n"
    "  --name NAME    the list's name in policies (default: INPUT's file name without extension)\n"
    "  --as-of DATE   date of the source data, YYYY-MM-DD (default: the OFAC file's date of issue)\n"
    "  --source TEXT  where the data came from (default: INPUT's file name and the format)\n"
    "  --note TEXT    a caveat recorded in the header (repeatable)\n"
    "  --out FILE     write there, atomically (temporary file + rename); default standard output\n"
    "\n"
    "show prints a list file's name, source, date, notes, count and content hash (Keccak-256 of\n"
    "its entry lines), after checking the header's count and content_hash against the entries.\n"
    "\n"
    "exit status: 0 ok, 64 usage error, 65 malformed input (one line on stderr names the line or XML\n"
    "element), 66 an input file that cannot be read, 73 the output file cannot be written.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "txguard lists: %s\n(run 'txguard lists --help' for usage)\n", message.c_str());
  return kExitUsage;
}

int data_error(std::string_view input, const ListError& error) {
  std::fprintf(stderr, "txguard lists: %.*s: %s\n", static_cast<int>(input.size()), input.data(), error.message().c_str());
  return kExitDataErr;
}

int no_input(std::string_view input) {
  std::fprintf(stderr, "txguard lists: cannot read '%.*s'\n", static_cast<int>(input.size()), input.data());
  return kExitNoInput;
}

// The whole of a file (or standard input for "-"); nullopt when it cannot be opened or read.
std::optional<std::string> read_all(std::string_view path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in.is_open()) return std::nullopt;
  std::string text(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>{});
  if (in.bad()) return std::nullopt;
  return text;
}

// Streams an OFAC XML file through the reader in 1 MiB chunks so the 80 MB advanced file is never
// held whole. nullopt result + false = unreadable.
std::optional<Parsed<OfacExtract>> stream_xml(std::string_view path, SdnXmlReader::Format format, const OfacOptions& options) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(std::string(path), std::ios::binary);
    if (!file.is_open()) return std::nullopt;
    in = &file;
  }
  SdnXmlReader reader(format, options);
  std::vector<char> buffer(std::size_t{1} << 20);
  while (*in) {
    in->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in->gcount());
    if (got == 0) break;
    if (auto fed = reader.feed(std::string_view(buffer.data(), got)); !fed) return Parsed<OfacExtract>(std::unexpected(fed.error()));
  }
  if (in->bad()) return std::nullopt;
  return reader.finish();
}


std::string base_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string stem(std::string_view path) {
  std::string name = base_name(path);
  const auto dot = name.find('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

int run_import(Args args) {
  std::string format;
  OfacOptions ofac;
  ParseOptions parse;
  std::string column = "address";
  bool column_given = false;
  std::optional<std::string> name, as_of, source, out;
  std::vector<std::string> notes;
  std::optional<std::string_view> input;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return std::string(args[++i]);
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kListsUsage.data(), stdout);
      return kExitOk;
    } else if (a == "--format") {
      auto v = value();
      if (!v) return usage_error("--format needs a value");
      format = *v;
    } else if (a == "--ticker") {
      auto v = value();
      if (!v || v->empty()) return usage_error("--ticker needs a ticker, e.g. ETH");
      ofac.tickers.push_back(*v);
    } else if (a == "--column") {
      auto v = value();
      if (!v || v->empty()) return usage_error("--column needs a column name");
      column = *v;
      column_given = true;
    } else if (a == "--exclude") {
      auto v = value();
      const auto eq = v ? v->find('=') : std::string::npos;
      if (!v || eq == std::string::npos || eq == 0) return usage_error("--exclude needs COLUMN=VALUE");
      parse.exclude_rows.emplace_back(v->substr(0, eq), v->substr(eq + 1));
    } else if (a == "--evm-only") {
      ofac.evm_only = true;
      parse.evm_only = true;
    } else if (a == "--name" || a == "--as-of" || a == "--source" || a == "--out" || a == "--note") {
      auto v = value();
      if (!v || v->empty()) return usage_error(std::string(a) + " needs a value");
      if (a == "--name") name = *v;
      if (a == "--as-of") as_of = *v;
      if (a == "--source") source = *v;
      if (a == "--out") out = *v;
      if (a == "--note") notes.push_back(*v);
    } else if (a.starts_with("--") && a.size() > 2) {
      return usage_error("unknown option '" + std::string(a) + "'");
    } else if (input) {
      return usage_error("more than one INPUT");
    } else {
      input = a;
    }
  }
  if (!input) return usage_error("no INPUT (a file, or - for standard input)");
  const bool is_ofac = format == "sdn-advanced" || format == "sdn-xml" || format == "sdn-csv";
  if (!is_ofac && format != "csv" && format != "json" && format != "lines") {
    return usage_error(format.empty() ? "--format is required" : "unknown --format '" + format + "'");
  }
  if (format != "csv" && column_given) return usage_error("--column applies to --format csv only");
  if (format != "csv" && !parse.exclude_rows.empty()) return usage_error("--exclude applies to --format csv only");
  if (as_of && !(as_of->size() == 10 && (*as_of)[4] == '-' && (*as_of)[7] == '-')) {
    return usage_error("--as-of needs YYYY-MM-DD, got '" + *as_of + "'");
  }

  AddressList list;
  std::vector<std::string> report;
  std::vector<std::string> warnings;
  std::string issued;
  std::string tickers_text;
  if (is_ofac) {
    Parsed<OfacExtract> extract = std::unexpected(ListError{});
    if (format == "sdn-csv") {
      auto text = read_all(*input);
      if (!text) return no_input(*input);
      extract = parse_sdn_csv(*text, ofac);
    } else {
      auto streamed = stream_xml(*input, format == "sdn-advanced" ? SdnXmlReader::Format::kAdvanced : SdnXmlReader::Format::kLegacy, ofac);
      if (!streamed) return no_input(*input);
      extract = std::move(*streamed);
    }
    if (!extract) return data_error(*input, extract.error());
    std::vector<std::string> found;
    for (const auto& [ticker, n] : extract->per_ticker) {
      report.push_back(ticker + ": " + std::to_string(n));
      found.push_back(ticker);
    }
    report.push_back(std::to_string(extract->entries) + " entries, " + std::to_string(extract->duplicates) + " duplicates, " +
                     std::to_string(extract->placeholders) + " placeholders skipped, " + std::to_string(extract->mismatched) +
                     " filed under a ticker of another chain" +
                     (ofac.evm_only ? ", " + std::to_string(extract->skipped) + " non-EVM left out" : std::string()));
    warnings = std::move(extract->warnings);
    issued = extract->issued;
    tickers_text = join(ofac.tickers.empty() ? found : ofac.tickers);
    list = std::move(extract->list);
  } else {
    auto text = read_all(*input);
    if (!text) return no_input(*input);
    Parsed<ParsedList> parsed = format == "csv" ? parse_csv_list(*text, column, parse)
                                : format == "json" ? parse_json_list(*text, parse)
                                                   : parse_lines(*text, parse);
    if (!parsed) return data_error(*input, parsed.error());
    report.push_back(std::to_string(parsed->stats.entries) + " entries, " + std::to_string(parsed->stats.duplicates) + " duplicates" +
                     (parse.evm_only || !parse.exclude_rows.empty() ? ", " + std::to_string(parsed->stats.skipped) + " left out" : std::string()));
    list = std::move(parsed->list);
    tickers_text = join(ofac.tickers);
  }

  list.metadata.name = name.value_or(*input == "-" ? std::string("list") : stem(*input));
  list.metadata.source = source.value_or((*input == "-" ? std::string("standard input") : base_name(*input)) + " (" + format + ")");
  list.metadata.as_of = as_of.value_or(issued);
  list.metadata.ticker = tickers_text;
  list.metadata.notes = std::move(notes);
  report.push_back(std::to_string(list.size()) + " addresses in the list (" + std::to_string(list.evm_count()) + " EVM, " +
                   std::to_string(list.other_count()) + " other; " + std::to_string(list.checksum_mismatches()) +
                   " mixed-case EVM entries with a wrong EIP-55 checksum normalised)");

  const std::string text = to_list_file(list);
  if (out) {
    if (!write_atomically(*out, text)) {
      std::fprintf(stderr, "txguard lists: cannot write '%s': %s\n", out->c_str(), std::strerror(errno));
      return kExitCantCreate;
    }
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  for (const auto& w : warnings) std::fprintf(stderr, "txguard lists: warning: %s\n", w.c_str());
  for (const auto& r : report) std::fprintf(stderr, "txguard lists: %s\n", r.c_str());
  return kExitOk;
}

int run_show(Args args) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kListsUsage.data(), stdout);
    return kExitOk;
  }
  if (args.size() != 1) return usage_error("show needs exactly one FILE");
  if (args[0].starts_with("--") && args[0].size() > 2) return usage_error("unknown option '" + std::string(args[0]) + "'");
  auto text = read_all(args[0]);
  if (!text) return no_input(args[0]);
  auto parsed = parse_list_file(*text);
  if (!parsed) return data_error(args[0], parsed.error());
  const auto& list = parsed->list;
  const auto& m = list.metadata;
  std::printf("name: %s\n", m.name.c_str());
  if (!m.source.empty()) std::printf("source: %s\n", m.source.c_str());
  if (!m.as_of.empty()) std::printf("as_of: %s\n", m.as_of.c_str());
  if (!m.ticker.empty()) std::printf("ticker: %s\n", m.ticker.c_str());
  for (const auto& note : m.notes) std::printf("note: %s\n", note.c_str());
  std::printf("count: %zu (evm %zu, other %zu)\n", list.size(), list.evm_count(), list.other_count());
  std::printf("content_hash: %s\n", codec::to_hex(list.content_hash()).c_str());
  return kExitOk;
}

}  // namespace

int run_lists(Args args) {
  if (args.empty()) return usage_error("expected 'import' or 'show'");
  const std::string_view sub = args[0];
  const Args rest(args.data() + 1, args.size() - 1);
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::fputs(kListsUsage.data(), stdout);
    return kExitOk;
  }
  if (sub == "import") return run_import(rest);
  if (sub == "show") return run_show(rest);
  return usage_error("unknown subcommand '" + std::string(sub) + "' (expected 'import' or 'show')");
}

}  // namespace txguard::cli
