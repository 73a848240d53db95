// txguard bridge pause|unpause: the emergency controls of the bridge co-signer, over the admin API of
// a running server (the server owns the database; a second writer would race its decision log).
//
//   txguard bridge pause   --url URL [--route NAME] [--reason TEXT] [--token-file FILE]
//   txguard bridge unpause --url URL [--route NAME] [--token-file FILE]
//
// Without --route the pause covers everything: no signing request of any kind is signed. The admin
// token comes from --token-file or the TXGUARD_TOKEN environment variable, never from the command
// line (it would show in the process list). Unpausing only asks: the approvers named in the policy's
// bridges.unpause approve the request it opens, like a held request.
//
// Exit: 0 done (pause in force / unpause request opened), 64 usage, 66 token file unreadable,
// 69 server unreachable, 77 refused (401/403), 65 any other refusal (unknown route, not paused).
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "guard/cli/cli.hpp"
#include "guard/http/client.hpp"

namespace txguard::cli {

namespace {

constexpr int kExitUnavailable = 69;
constexpr int kExitNoPerm = 77;

constexpr const char* kUsage =
    "usage: txguard bridge pause   --url URL [--route NAME] [--reason TEXT] [--token-file FILE]\n"
    "       txguard bridge unpause --url URL [--route NAME] [--token-file FILE]\n"
    "  --url         the txguard server, e.g. https://127.0.0.1:8545\n"
    "  --route       one bridge route; without it, everything (every signing request) is paused\n"
    "  --reason      why (recorded in the decision log)\n"
    "  --token-file  a file holding an admin client's bearer token (default: $TXGUARD_TOKEN)\n"
    "Unpausing opens a request that the policy's bridges.unpause approvers must approve\n"
    "(POST /v1/holds/{id}/approve), like a held request.\n";

int usage(const std::string& message) {
  if (!message.empty()) std::fprintf(stderr, "txguard bridge: %s\n", message.c_str());
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

}  // namespace

int run_bridge(Args args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string_view action = args[0];
  if (action != "pause" && action != "unpause") return usage("unknown action " + std::string(action));
  std::optional<std::string> url, route, reason, token_file;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const auto value = [&](std::optional<std::string>& out) -> bool {
      if (i + 1 >= args.size()) return false;
      out = std::string(args[++i]);
      return true;
    };
    bool ok = true;
    if (a == "--url") ok = value(url);
    else if (a == "--route") ok = value(route);
    else if (a == "--reason" && action == "pause") ok = value(reason);
    else if (a == "--token-file") ok = value(token_file);
    else return usage("unknown option " + std::string(a));
    if (!ok) return usage(std::string(a) + " needs a value");
  }
  if (!url) return usage("--url is required");
  std::string token;
  if (token_file) {
    auto text = read_file(*token_file);
    if (!text) {
      std::fprintf(stderr, "txguard bridge: token file %s: %s\n", token_file->c_str(), text.error().c_str());
      return kExitNoInput;
    }
    token = *text;
  } else if (const char* env = std::getenv("TXGUARD_TOKEN")) {
    token = env;
  } else {
    return usage("no token: give --token-file FILE or set TXGUARD_TOKEN");
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return usage("the token is empty");

  std::string base = *url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  http::ClientOptions options;
  options.bearer_token = token;
  auto client = http::Client::create(base + "/v1/bridge/" + std::string(action), options);
  if (!client) return usage("--url: " + client.error());
  nlohmann::json body = nlohmann::json::object();
  if (route) body["route"] = *route;
  if (reason) body["reason"] = *reason;
  auto answer = (*client)->post_json(body.dump());
  if (!answer) {
    const std::string& e = answer.error();
    std::fprintf(stderr, "txguard bridge %.*s: %s\n", static_cast<int>(action.size()), action.data(), e.c_str());
    if (e.find("HTTP 401") != std::string::npos || e.find("HTTP 403") != std::string::npos) return kExitNoPerm;
    if (e.find("upstream answered HTTP") != std::string::npos) return kExitDataErr;
    return kExitUnavailable;
  }
  std::fwrite(answer->data(), 1, answer->size(), stdout);
  std::fputc('\n', stdout);
  return kExitOk;
}

}  // namespace txguard::cli
