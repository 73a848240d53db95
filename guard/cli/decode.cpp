// txguard decode: a raw transaction, a Safe transaction or typed data to its normalized intent.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/cli/cli.hpp"
#include "policy/codec/abi_registry.hpp"
#include "policy/codec/eip712.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/transaction.hpp"

namespace txguard::cli {
namespace {

using namespace txguard::codec;

constexpr std::string_view kDecodeUsage =
    "usage: txguard decode [options] [INPUT]\n"
    "\n"
    "Decodes INPUT and prints its intent as JSON: every call, transfer, grant of rights and address.\n"
    "INPUT is one of\n"
    "  a raw transaction          0x-hex, types 0 to 4, signed or unsigned\n"
    "  a Safe transaction         JSON with the Safe Transaction Service field names (to, value, data,\n"
    "                             operation, safeTxGas, baseGas, gasPrice, gasToken, refundReceiver,\n"
    "                             nonce) plus chainId, safe and safeVersion\n"
    "  typed data                 eth_signTypedData_v4 JSON (types, primaryType, domain, message)\n"
    "given literally (starting with 0x or {), as a file name, or on standard input (- or nothing).\n"
    "\n"
    "options:\n"
    "  --abi FILE                 also decode calls with the functions of this ABI JSON (repeatable)\n"
    "  --safe ADDR:VERSION[:NONCE] a known Safe, so that its execTransaction nested in the input can be\n"
    "                             hashed and its signers recovered (repeatable)\n"
    "  --chain-id N               chain id for nested Safe transactions and typed data without one\n"
    "  --signer ADDR              the account that signs (unsigned transactions, typed data)\n"
    "  --no-recover               do not recover the sender of a signed transaction\n"
    "\n"
    "exit status: 0 decoded, 64 usage error, 65 the input does not decode (one line on stderr names\n"
    "what is wrong and where: a byte offset or a JSON path), 66 an input file that cannot be read.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "txguard decode: %s\n(run 'txguard decode --help' for usage)\n", message.c_str());
  return kExitUsage;
}

int data_error(const std::string& what, const DecodeError& error) {
  std::fprintf(stderr, "txguard decode: %s: %s\n", what.c_str(), error.message().c_str());
  return kExitDataErr;
}

}  // namespace

int run_decode(Args args) {
  std::optional<std::string_view> input_arg;
  std::vector<std::string> abi_files;
  IntentContext context;
  TxnDecodeOptions txn_options;

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&](std::string_view name) -> std::optional<std::string_view> {
      if (i + 1 >= args.size()) return std::nullopt;
      (void)name;
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kDecodeUsage.data(), stdout);
      return kExitOk;
    } else if (a == "--abi") {
      auto v = value(a);
      if (!v) return usage_error("--abi needs a file");
      abi_files.emplace_back(*v);
    } else if (a == "--safe") {
      auto v = value(a);
      if (!v) return usage_error("--safe needs ADDRESS:VERSION[:NONCE]");
      const std::string spec(*v);
      const auto c1 = spec.find(':');
      if (c1 == std::string::npos) return usage_error("--safe needs ADDRESS:VERSION[:NONCE], got '" + spec + "'");
      const auto c2 = spec.find(':', c1 + 1);
      auto address = parse_address(spec.substr(0, c1));
      if (!address) return usage_error("--safe: bad address: " + address.error().message());
      auto version = parse_safe_version(spec.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1));
      if (!version) return usage_error("--safe: " + version.error().message());
      IntentContext::KnownSafe known{*version, std::nullopt};
      if (c2 != std::string::npos) {
        auto nonce = parse_u256(spec.substr(c2 + 1));
        if (!nonce) return usage_error("--safe: bad nonce: " + nonce.error().message());
        known.nonce = *nonce;
      }
      context.safes[*address] = known;
    } else if (a == "--chain-id") {
      auto v = value(a);
      if (!v) return usage_error("--chain-id needs a number");
      auto id = parse_u256(*v);
      if (!id) return usage_error("--chain-id: " + id.error().message());
      context.chain_id = *id;
    } else if (a == "--signer") {
      auto v = value(a);
      if (!v) return usage_error("--signer needs an address");
      auto signer = parse_address(*v);
      if (!signer) return usage_error("--signer: " + signer.error().message());
      context.signer = *signer;
    } else if (a == "--no-recover") {
      txn_options.recover_sender = false;
    } else if (a.starts_with("--") && a.size() > 2) {
      return usage_error("unknown option '" + std::string(a) + "'");
    } else if (input_arg) {
      return usage_error("more than one INPUT");
    } else {
      input_arg = a;
    }
  }

  FunctionRegistry registry = FunctionRegistry::builtin();
  for (const auto& file : abi_files) {
    std::ifstream in(file);
    if (!in) {
      std::fprintf(stderr, "txguard decode: cannot open ABI file '%s'\n", file.c_str());
      return kExitNoInput;
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto json = parse_json_strict(text);
    if (!json) return data_error("ABI file " + file, json.error());
    auto added = registry.add_abi_json(*json, "operator");
    if (!added) return data_error("ABI file " + file, added.error());
  }
  context.registry = &registry;

  auto text = read_input(input_arg, "decode");
  if (!text) return kExitNoInput;
  if (text->empty()) return usage_error("no input");

  auto intent = decode_request(*text, context, txn_options);
  if (!intent) {
    std::fprintf(stderr, "txguard decode: %s\n", intent.error().c_str());
    return kExitDataErr;
  }
  std::cout << to_json(*intent).dump(2) << '\n';
  return kExitOk;
}

}  // namespace txguard::cli
