// txguard: the co-signer's command line.
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "guard/cli/cli.hpp"
#include "signers/secure_memory.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: txguard <command> [options]\n"
    "\n"
    "commands:\n"
    "  decode [INPUT]   decode a raw transaction (hex), a Safe transaction (JSON) or\n"
    "                   eth_signTypedData_v4 JSON to its intent, printed as JSON\n"
    "  lists import|show  make a txguard list file from an OFAC SDN file, CSV, JSON or plain\n"
    "                   lines (import), or print a list file's name, count and hash (show)\n"
    "  keys new|import|address|list  the co-signer's encrypted keystores (V3 JSON, as geth)\n"
    "  policy check FILE  validate a policy and print its hash; every problem names the file,\n"
    "                   the JSON path and the fix\n"
    "  eval --policy FILE --request FILE [--state DB] [--at TIME]\n"
    "                   judge one request and print the decision (exit 0 allow, 10 deny, 11 hold)\n"
    "  serve --config FILE  run the co-signer service (REST, JSON-RPC, holds, metrics)\n"
    "  token new        a new client token and the SHA-256 the configuration stores\n"
    "  log export|verify  export the tamper-evident decision log; verify an export offline\n"
    "  replay DIR [--policy FILE]  judge an export's requests again (or by another policy: what-if)\n"
    "  bridge pause|unpause --url URL [--route NAME]  the bridge co-signer's emergency pause (unpausing\n"
    "                   opens a request the policy's approvers must approve)\n"
    "  vaa verify|sets  verify a Wormhole VAA against the guardian set history (exit 0 valid, 10\n"
    "                   invalid); build, verify or rotate a guardian set history file\n"
    "  db migrate|version|copy  the database's schema version: migrate it after an upgrade; copy a whole\n"
    "                   database (state, holds, the signed decision log) into a new one, verified\n"
    "  version          print the version\n"
    "\n"
    "INPUT is the literal (starting with 0x or {), a file name, or - / nothing for standard input.\n"
    "Run 'txguard <command> --help' for a command's options.\n";

}  // namespace

namespace txguard::cli {
int run_vaa(Args args);  // guard/cli/vaa.cpp
}

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? txguard::cli::kExitUsage : txguard::cli::kExitOk;
  }
  const std::string_view command = args[0];
  const txguard::cli::Args rest(args.data() + 1, args.size() - 1);
  // Every command may hold a key or a passphrase in memory (serve, keys, bridge, log): no core file
  // and no same-user debugger may copy it out (signers/secure_memory.hpp). Before any thread starts.
  if (auto hardened = txguard::signers::harden_process(); !hardened) {
    std::fprintf(stderr, "txguard: cannot protect key material: %s\n", hardened.error().c_str());
    return txguard::cli::kExitOsErr;
  }
  try {
    if (command == "decode") return txguard::cli::run_decode(rest);
    if (command == "lists") return txguard::cli::run_lists(rest);
    if (command == "policy") return txguard::cli::run_policy(rest);
    if (command == "eval") return txguard::cli::run_eval(rest);
    if (command == "keys") return txguard::cli::run_keys(rest);
    if (command == "serve") return txguard::cli::run_serve(rest);
    if (command == "token") return txguard::cli::run_token(rest);
    if (command == "log") return txguard::cli::run_log(rest);
    if (command == "replay") return txguard::cli::run_replay(rest);
    if (command == "bridge") return txguard::cli::run_bridge(rest);
    if (command == "vaa") return txguard::cli::run_vaa(rest);
    if (command == "db") return txguard::cli::run_db(rest);
    if (command == "version" || command == "--version") {
      std::puts("txguard " TXGUARD_VERSION);
      return txguard::cli::kExitOk;
    }
  } catch (const std::exception& e) {
    // Decoders do not throw on bad input; an exception here is a bug or resource exhaustion.
    std::fprintf(stderr, "txguard %.*s: internal error: %s\n", static_cast<int>(command.size()), command.data(), e.what());
    return txguard::cli::kExitSoftware;
  }
  std::fprintf(stderr, "txguard: unknown command '%.*s'\n%s", static_cast<int>(command.size()), command.data(),
               kUsage.data());
  return txguard::cli::kExitUsage;
}
