// txguard vaa: verify Wormhole VAAs against a guardian set history, and build, verify and rotate such
// histories. The rules are policy/validator_sets; this file reads inputs, prints JSON and writes the
// history file atomically. The default history (Wormhole mainnet, deploy/bridges/wormhole-mainnet.sets.json)
// is compiled into the binary, so verifying never reads the repository.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/cli/cli.hpp"
#include "policy/codec/vaa.hpp"
#include "policy/units.hpp"
#include "policy/validator_sets.hpp"

namespace txguard::cli {

/// The shipped Wormhole mainnet history, generated at build time from deploy/bridges/ (guard/CMakeLists.txt).
extern const std::string_view kWormholeMainnetSets;

int run_vaa(Args args);

namespace {

using nlohmann::json;
using policy::TimeMs;

constexpr std::string_view kVaaUsage =
    "usage: txguard vaa verify [--sets FILE] [--at TIME] [--min-signatures N] [--min-operators N] [VAA]\n"
    "       txguard vaa sets build --genesis ADDR [--name NAME] [--overlap DUR] [--times TEXT] UPGRADE_VAA...\n"
    "       txguard vaa sets verify FILE\n"
    "       txguard vaa sets rotate FILE VAA [--at TIME]\n"
    "\n"
    "verify checks a Wormhole VAA v1 against a guardian set history (default: the Wormhole mainnet history\n"
    "built into txguard) and prints JSON: valid, reason and detail when invalid, digest, guardian_set_index,\n"
    "version, signers, emitter_chain, emitter_address, sequence, timestamp, nonce, consistency_level and\n"
    "the decoded payload. VAA is hex (0x optional) or base64, given literally, as a file name, or on\n"
    "standard input (- or nothing). TIME is RFC 3339 UTC (2026-11-22T10:00:00Z) or unix seconds; default now.\n"
    "--min-signatures and --min-operators raise the quorum above floor(2n/3)+1.\n"
    "\n"
    "sets build verifies each upgrade VAA in order, starting from the genesis key, and prints the history\n"
    "(each set valid from the timestamp of the VAA that installed it). sets verify re-verifies a history\n"
    "file. sets rotate applies an upgrade VAA signed by the file's current set at TIME (default now) and\n"
    "rewrites the file atomically.\n"
    "\n"
    "exit status: 0 valid, 10 invalid or refused (the reason is printed), 64 usage error, 65 a VAA that is\n"
    "not hex or base64 or does not decode, 66 an unreadable file or an unusable history.\n";

constexpr std::string_view kTimesNote =
    "valid_from of each set is the body timestamp of the guardian set upgrade VAA that installed it: when "
    "the guardians signed it. The upgrade was submitted to each chain's core contract somewhat later, so "
    "there the old set really expires somewhat later than written here. The genesis set 0 is valid from "
    "1970-01-01 (from genesis). A replaced set expires at the next set's valid_from + the overlap (24h, "
    "the core contract's guardianSetExpiry).";

int usage(const std::string& why) {
  std::fprintf(stderr, "txguard vaa: %s\n(run 'txguard vaa --help' for usage)\n", why.c_str());
  return kExitUsage;
}

TimeMs now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// --at: unix seconds (all digits) or RFC 3339 UTC.
std::optional<TimeMs> parse_at(std::string_view text) {
  if (!text.empty() && text.size() <= 12 && text.find_first_not_of("0123456789") == std::string_view::npos) {
    return static_cast<TimeMs>(std::stoll(std::string(text))) * 1000;
  }
  if (text.find('T') == std::string_view::npos) return std::nullopt;
  auto t = policy::parse_time(text);
  if (!t) return std::nullopt;
  return *t;
}

std::optional<std::size_t> parse_count(std::string_view text) {
  if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return static_cast<std::size_t>(std::stoul(std::string(text)));
}

// read_file, refusing a directory (reading one throws from the stream rather than failing).
std::expected<std::string, std::string> read_text(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return std::unexpected("cannot read: is a directory");
  return read_file(path);
}

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// Strict base64 (RFC 4648 section 4): the standard alphabet, padded to a multiple of 4, '=' only at
// the end, and the unused bits of the last group zero (so each byte string has one encoding).
std::optional<codec::Bytes> from_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  codec::Bytes out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size() - pad; ++i) {
    const int v = value(text[i]);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1U << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;
  return out;
}

// Hex first (a VAA's base64 starts "AQAAAA", never hex); then strict base64.
std::optional<codec::Bytes> decode_text(const std::string& text) {
  const std::string_view digits = text.starts_with("0x") || text.starts_with("0X") ? std::string_view(text).substr(2) : text;
  if (!digits.empty() && digits.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos) {
    if (auto bytes = codec::from_hex(digits)) return *bytes;
    return std::nullopt;
  }
  return from_base64(text);
}

// A VAA argument's text: standard input for "-" or none, the file it names if one exists, else the
// argument itself. nullopt (after a line on stderr) when a file cannot be read.
std::optional<std::string> vaa_text(std::optional<std::string_view> arg, std::string_view command) {
  if (!arg || *arg == "-") return trim(std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()));
  std::error_code ec;
  if (std::filesystem::exists(std::string(*arg), ec)) {
    auto text = read_text(std::string(*arg));
    if (!text) {
      std::fprintf(stderr, "txguard %.*s: %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                   static_cast<int>(arg->size()), arg->data(), text.error().c_str());
      return std::nullopt;
    }
    return trim(std::move(*text));
  }
  return trim(std::string(*arg));
}

std::expected<codec::Vaa, std::string> parse_vaa(const std::string& text) {
  auto bytes = decode_text(text);
  if (!bytes) return std::unexpected("not hex or base64");
  auto vaa = codec::decode_vaa(*bytes);
  if (!vaa) return std::unexpected("VAA layout: " + vaa.error().message());
  return *vaa;
}

// The history from --sets, or the built-in one. Prints the problems and returns nullopt (exit 66).
std::optional<policy::ValidatorSetHistory> load_sets(const std::optional<std::string>& path, std::string_view command) {
  std::string text(kWormholeMainnetSets);
  std::string name = "the built-in Wormhole mainnet history";
  if (path) {
    auto read = read_text(*path);
    if (!read) {
      std::fprintf(stderr, "txguard %.*s: %s: %s\n", static_cast<int>(command.size()), command.data(), path->c_str(),
                   read.error().c_str());
      return std::nullopt;
    }
    text = std::move(*read);
    name = *path;
  }
  auto h = policy::load_validator_sets(text);
  if (!h) {
    for (const auto& line : h.error()) {
      std::fprintf(stderr, "txguard %.*s: %s: %s\n", static_cast<int>(command.size()), command.data(), name.c_str(), line.c_str());
    }
    return std::nullopt;
  }
  return *h;
}

void print_json(const json& doc) { std::cout << doc.dump(2) << "\n"; }

int verify(Args args) {
  std::optional<std::string> sets_path;
  std::optional<TimeMs> at;
  policy::QuorumRule rule;
  std::optional<std::string_view> input;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--sets" && has_value) {
      sets_path = std::string(args[++i]);
    } else if (a == "--at" && has_value) {
      at = parse_at(args[++i]);
      if (!at) return usage("--at: not RFC 3339 UTC or unix seconds: '" + std::string(args[i]) + "'");
    } else if ((a == "--min-signatures" || a == "--min-operators") && has_value) {
      auto n = parse_count(args[++i]);
      if (!n) return usage(std::string(a) + ": not a count: '" + std::string(args[i]) + "'");
      (a == "--min-signatures" ? rule.min_signatures : rule.min_operators) = *n;
    } else if (a.starts_with("--") || input) {
      return usage("vaa verify: unexpected '" + std::string(a) + "'");
    } else {
      input = a;
    }
  }
  auto text = vaa_text(input, "vaa verify");
  if (!text) return kExitNoInput;
  auto history = load_sets(sets_path, "vaa verify");
  if (!history) return kExitNoInput;
  auto vaa = parse_vaa(*text);
  if (!vaa) {
    print_json({{"valid", false}, {"reason", "unparseable"}, {"detail", vaa.error()}});
    return kExitDataErr;
  }
  const auto result = policy::verify_vaa(*vaa, *history, at.value_or(now_ms()), rule);
  nlohmann::ordered_json out;
  out["valid"] = result.valid;
  if (!result.valid) out["reason"] = result.reason;
  out["detail"] = result.detail;
  out["digest"] = codec::to_hex(vaa->digest);
  out["guardian_set_index"] = vaa->guardian_set_index;
  out["version"] = vaa->version;
  out["required"] = result.required;
  auto signers = nlohmann::ordered_json::array();
  for (const auto& [index, address] : result.signers) signers.push_back({{"index", index}, {"address", codec::to_checksum(address)}});
  out["signers"] = std::move(signers);
  out["emitter_chain"] = vaa->body.emitter_chain;
  out["emitter_address"] = codec::to_hex(vaa->body.emitter_address);
  out["sequence"] = std::to_string(vaa->body.sequence);
  out["timestamp"] = vaa->body.timestamp;
  out["nonce"] = vaa->body.nonce;
  out["consistency_level"] = vaa->body.consistency_level;
  out["payload"] = codec::decoded_payload_json(vaa->body);
  std::cout << out.dump(2) << "\n";
  return result.valid ? kExitOk : kExitDeny;
}

int refused(std::string_view command, const policy::VaaVerification& why) {
  std::fprintf(stderr, "txguard %.*s: refused: %s: %s\n", static_cast<int>(command.size()), command.data(), why.reason.c_str(),
               why.detail.c_str());
  return kExitDeny;
}

int sets_build(Args args) {
  std::optional<codec::Address> genesis;
  policy::ValidatorSetHistory history;
  history.name = "wormhole";
  history.times_note = std::string(kTimesNote);
  std::vector<std::string_view> upgrades;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--genesis" && has_value) {
      auto parsed = codec::parse_address(args[++i]);
      if (!parsed) return usage("--genesis: " + parsed.error().message());
      genesis = *parsed;
    } else if (a == "--name" && has_value) {
      history.name = std::string(args[++i]);
    } else if (a == "--times" && has_value) {
      history.times_note = std::string(args[++i]);
    } else if (a == "--overlap" && has_value) {
      auto d = policy::parse_duration(args[++i]);
      if (!d) return usage("--overlap: " + d.error());
      history.overlap_ms = *d;
    } else if (a.starts_with("--")) {
      return usage("vaa sets build: unexpected '" + std::string(a) + "'");
    } else {
      upgrades.push_back(a);
    }
  }
  if (!genesis) return usage("vaa sets build needs --genesis ADDR");
  if (genesis->is_zero()) return usage("--genesis: the zero address cannot sign");
  policy::ValidatorSet first;
  first.validators.push_back({*genesis, codec::to_checksum(*genesis)});
  history.sets.push_back(std::move(first));
  for (const auto upgrade : upgrades) {
    if (upgrade == "-") return usage("vaa sets build: upgrade VAAs are arguments or files, not standard input");
    auto text = vaa_text(upgrade, "vaa sets build");
    if (!text) return kExitNoInput;
    auto vaa = parse_vaa(*text);
    if (!vaa) {
      std::fprintf(stderr, "txguard vaa sets build: %.*s: %s\n", static_cast<int>(std::min<std::size_t>(upgrade.size(), 80)),
                   upgrade.data(), vaa.error().c_str());
      return kExitDataErr;
    }
    auto next = policy::apply_upgrade(history, *vaa, static_cast<TimeMs>(vaa->body.timestamp) * 1000);
    if (!next) return refused("vaa sets build", next.error());
    history = std::move(*next);
  }
  std::cout << policy::to_json_text(history);
  return kExitOk;
}

int sets_verify(Args args) {
  if (args.size() != 1 || args[0].starts_with("--")) return usage("vaa sets verify needs exactly one FILE");
  auto read = read_text(std::string(args[0]));
  if (!read) {
    std::fprintf(stderr, "txguard vaa sets verify: %.*s: %s\n", static_cast<int>(args[0].size()), args[0].data(), read.error().c_str());
    return kExitNoInput;
  }
  auto h = policy::load_validator_sets(*read);
  if (!h) {
    for (const auto& line : h.error()) {
      std::fprintf(stderr, "txguard vaa sets verify: %.*s: %s\n", static_cast<int>(args[0].size()), args[0].data(), line.c_str());
    }
    return kExitDeny;
  }
  std::printf("%s: %zu sets, %zu upgrades verified, current set %u (%zu validators)\n", h->name.c_str(), h->sets.size(),
              h->sets.size() - 1, h->current().index, h->current().validators.size());
  return kExitOk;
}


int sets_rotate(Args args) {
  std::optional<TimeMs> at;
  std::vector<std::string_view> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--at" && i + 1 < args.size()) {
      at = parse_at(args[++i]);
      if (!at) return usage("--at: not RFC 3339 UTC or unix seconds: '" + std::string(args[i]) + "'");
    } else if (args[i].starts_with("--")) {
      return usage("vaa sets rotate: unexpected '" + std::string(args[i]) + "'");
    } else {
      positional.push_back(args[i]);
    }
  }
  if (positional.size() != 2) return usage("vaa sets rotate needs FILE and VAA");
  const std::string path(positional[0]);
  auto history = load_sets(path, "vaa sets rotate");
  if (!history) return kExitNoInput;
  auto text = vaa_text(positional[1], "vaa sets rotate");
  if (!text) return kExitNoInput;
  auto vaa = parse_vaa(*text);
  if (!vaa) {
    std::fprintf(stderr, "txguard vaa sets rotate: %s\n", vaa.error().c_str());
    return kExitDataErr;
  }
  auto next = policy::apply_upgrade(*history, *vaa, at.value_or(now_ms()));
  if (!next) return refused("vaa sets rotate", next.error());
  if (!write_atomically(path, policy::to_json_text(*next))) {
    std::fprintf(stderr, "txguard vaa sets rotate: cannot write '%s'\n", path.c_str());
    return kExitCantCreate;
  }
  std::printf("%s: set %u installed, valid from %s; set %u expires at %s\n", path.c_str(), next->current().index,
              policy::format_time(next->current().valid_from_ms).c_str(), next->sets[next->sets.size() - 2].index,
              policy::format_time(*next->sets[next->sets.size() - 2].expires_at_ms).c_str());
  return kExitOk;
}

}  // namespace

int run_vaa(Args args) {
  if (args.empty()) {
    std::fputs(kVaaUsage.data(), stderr);
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kVaaUsage.data(), stdout);
    return kExitOk;
  }
  const Args rest(args.data() + 1, args.size() - 1);
  if (args[0] == "verify") return verify(rest);
  if (args[0] == "sets" && !rest.empty()) {
    const Args tail(rest.data() + 1, rest.size() - 1);
    if (rest[0] == "build") return sets_build(tail);
    if (rest[0] == "verify") return sets_verify(tail);
    if (rest[0] == "rotate") return sets_rotate(tail);
  }
  return usage("unknown subcommand '" + std::string(args[0]) + "'");
}

}  // namespace txguard::cli
