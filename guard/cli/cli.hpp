// The txguard command line: one function per subcommand, each returning its process exit code.
//
// Exit codes follow sysexits(3) where they exist: 0 success, 64 usage error, 65 bad input data,
// 66 an input file that cannot be opened, 70 internal error, 75 try again, 78 a configuration (here:
// the database's schema) that must be changed first. Subcommands that decide (eval, vaa
// verify) add their own: 10 deny / invalid, 11 hold.
#pragma once

#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "policy/codec/intent.hpp"
#include "policy/codec/transaction.hpp"
#include "policy/document.hpp"
#include "policy/prices.hpp"

namespace txguard::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;
inline constexpr int kExitDataErr = 65;
inline constexpr int kExitNoInput = 66;
inline constexpr int kExitSoftware = 70;
inline constexpr int kExitOsErr = 71;  // the process could not be hardened (core dumps, key memory)
inline constexpr int kExitCantCreate = 73;
inline constexpr int kExitTempFail = 75;  // the state store could not be read or locked: try again
inline constexpr int kExitConfig = 78;    // the database's schema is not this txguard's (older: txguard db
                                          // migrate; newer: a newer txguard; or not txguard's): retrying
                                          // will not help
inline constexpr int kExitDeny = 10;
inline constexpr int kExitHold = 11;

using Args = std::span<const std::string_view>;

int run_decode(Args args);
int run_lists(Args args);
int run_policy(Args args);
int run_eval(Args args);
int run_keys(Args args);
int run_serve(Args args);
int run_token(Args args);
int run_log(Args args);
int run_replay(Args args);
int run_bridge(Args args);
int run_db(Args args);  // guard/cli/db.cpp

/// Reads the input of a subcommand: the literal argument when it starts with "0x" or "{" or "[",
/// standard input when it is "-" or absent, otherwise the file it names. Trailing white space is
/// removed. On failure prints one line to stderr and returns nullopt (exit kExitNoInput).
std::optional<std::string> read_input(std::optional<std::string_view> arg, std::string_view command);

/// Decodes a signing request to its intent: a raw transaction (0x-hex), a Safe transaction (JSON with
/// the Safe Transaction Service field names) or eth_signTypedData_v4 JSON. The error is one line
/// naming what is wrong and where ("Safe transaction: invalid-field at $.value: ...").
std::expected<codec::Intent, std::string> decode_request(const std::string& text, const codec::IntentContext& context,
                                                         const codec::TxnDecodeOptions& options = {});

/// Writes `text` to `path` so that `path` is always either the old file or the complete new one
/// (temporary file, fsync, rename). False when any step fails; the temporary file is then removed.
bool write_atomically(const std::string& path, const std::string& text);
/// The whole file, or why it cannot be read ("cannot open: No such file or directory").
std::expected<std::string, std::string> read_file(const std::string& path);

/// The PostgreSQL password a configuration names (database_password_file, or database_password_env:
/// read once and removed from the environment); "" when it names none. Errors name the field.
std::expected<std::string, std::string> read_database_password(const std::optional<std::string>& file,
                                                               const std::optional<std::string>& env);

/// The texts a policy was loaded from: the policy file and every file it read, by the path as written.
struct PolicyTexts {
  std::string policy;
  std::map<std::string, std::string> files;
};

/// Loads a policy file (paths in it relative to its directory), printing every problem as
/// "FILE: PATH: problem; fix: ..." to stderr. Fails with the exit code (66 unreadable, 65 problems).
/// `texts`, when given, receives what was read (the decision log stores it).
std::expected<policy::Policy, int> load_policy_file(const std::string& path, std::string_view command,
                                                    PolicyTexts* texts = nullptr);
/// The price table from `explicit_path`, else the policy's prices.file (relative to the policy's
/// directory), else empty. Fails with the exit code (66 unreadable, 65 malformed), after one line on stderr.
/// `text_out`, when given, receives the file's text (nullopt when there is no price file).
std::expected<policy::PriceTable, int> load_prices(const policy::Policy& p, const std::string& policy_path,
                                                   const std::optional<std::string>& explicit_path,
                                                   std::string_view command,
                                                   std::optional<std::string>* text_out = nullptr);

}  // namespace txguard::cli
