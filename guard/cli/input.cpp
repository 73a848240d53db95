#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "guard/cli/cli.hpp"
#include "policy/codec/eip712.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/safe.hpp"

namespace txguard::cli {

std::optional<std::string> read_input(std::optional<std::string_view> arg, std::string_view command) {
  std::string text;
  if (!arg || *arg == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    text = buffer.str();
  } else if (arg->starts_with("0x") || arg->starts_with("0X") || arg->starts_with("{") || arg->starts_with("[")) {
    text = std::string(*arg);
  } else {
    std::ifstream file{std::string(*arg), std::ios::binary};
    if (!file) {
      std::fprintf(stderr, "txguard %.*s: cannot open '%.*s'\n", static_cast<int>(command.size()), command.data(),
                   static_cast<int>(arg->size()), arg->data());
      return std::nullopt;
    }
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
    text.pop_back();
  }
  std::size_t start = 0;
  while (start < text.size() && (text[start] == ' ' || text[start] == '\t' || text[start] == '\n' || text[start] == '\r')) {
    ++start;
  }
  return text.substr(start);
}

std::expected<codec::Intent, std::string> decode_request(const std::string& text, const codec::IntentContext& context,
                                                         const codec::TxnDecodeOptions& options) {
  using namespace txguard::codec;
  const auto error = [](std::string_view what, const DecodeError& e) {
    return std::unexpected(std::string(what) + ": " + e.message());
  };
  if (text.empty()) return std::unexpected(std::string("empty request"));
  Decoded<Intent> intent = fail(DecodeErrc::kInvalidJson, 0, "$");
  if (text[0] == '{') {
    auto json = parse_json_strict(text);
    if (!json) return error("input", json.error());
    if (json->contains("types") || json->contains("primaryType")) {
      auto typed = parse_typed_data(*json);
      if (!typed) return error("typed data", typed.error());
      intent = intent_from_typed_data(*typed, context);
    } else {
      auto request = parse_safe_tx_request(*json);
      if (!request) return error("Safe transaction", request.error());
      intent = intent_from_safe_request(*request, context);
    }
  } else {
    auto raw = from_hex(text);
    if (!raw) return error("transaction hex", raw.error());
    auto txn = decode_transaction(*raw, options);
    if (!txn) return error("transaction", txn.error());
    intent = intent_from_transaction(*txn, context);
  }
  if (!intent) return error("input", intent.error());
  return std::move(*intent);
}

bool write_atomically(const std::string& path, const std::string& text) {
  // A temporary file in the same directory, flushed to disk, then renamed over the target: rename(2)
  // is atomic within a file system, so `path` is always the old file or the complete new one.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return false;
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(::fileno(f)) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (ok && std::rename(tmp.c_str(), path.c_str()) == 0) return true;
  std::remove(tmp.c_str());
  return false;
}

std::expected<std::string, std::string> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::unexpected("cannot open: " + std::string(std::strerror(errno)));
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return std::unexpected("read error: " + std::string(std::strerror(errno)));
  return text;
}

}  // namespace txguard::cli
