#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "guard/cli/cli.hpp"

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

}  // namespace txguard::cli
