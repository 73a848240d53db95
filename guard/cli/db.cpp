// txguard db migrate | copy | version: the database's schema (guard/store/schema.hpp) and moving a
// database from one place to another (the embedded SQLite default to PostgreSQL, and back).
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "guard/cli/cli.hpp"
#include "guard/service/config.hpp"
#include "guard/store/decision_log.hpp"
#include "guard/store/schema.hpp"
#include "policy/codec/address.hpp"
#include "signers/keystore.hpp"

namespace txguard::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDbUsage =
    "usage: txguard db migrate (--config FILE | --database PATH_OR_URL [--password-env NAME])\n"
    "       txguard db version (--config FILE | --database PATH_OR_URL [--password-env NAME])\n"
    "       txguard db copy --from PATH_OR_URL --to PATH_OR_URL [--from-password-env NAME] [--to-password-env NAME]\n"
    "\n"
    "migrate: brings the database to this txguard's schema version in one transaction (a current\n"
    "database is left as it is; a newer one is refused). Stop every replica and back the database up\n"
    "first; start the new txguard after.\n"
    "\n"
    "version: prints the database's schema version and this txguard's.\n"
    "\n"
    "copy: copies a whole database (velocity state, holds, the decision log with its signed tree heads,\n"
    "the bridge state) into a new, EMPTY database, in one transaction, then checks the copy (rows per\n"
    "table, the log's Merkle roots, the last tree head's signature) before it commits; on any failure\n"
    "the destination is rolled back. The source must be at the current schema version (run migrate\n"
    "first) and should not be written meanwhile: stop the server. A SQLite file is a path; PostgreSQL\n"
    "is a postgresql:// URL without a password: --from-password-env / --to-password-env (or\n"
    "--password-env) name the variable holding it, otherwise libpq's own sources apply (PGPASSWORD,\n"
    "~/.pgpass, a client certificate).\n"
    "\n"
    "exit status: 0 done, 64 usage error, 65 the configuration is unusable, 66 a database file that does\n"
    "not exist, 70 the copy did not verify, 73 the destination is not empty, 75 the database could not be\n"
    "reached or locked (try again), 78 the schema is not one this command can work on (older: run\n"
    "migrate; newer: use a newer txguard; not txguard's).\n";

int usage(const std::string& why) {
  std::fprintf(stderr, "txguard: %s\n%s", why.c_str(), kDbUsage.data());
  return kExitUsage;
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "txguard db: %s\n", message.c_str());
  return code;
}

int exit_code_of(const policy::StateError& e) {
  switch (e.code) {
    case policy::StateErrc::kUnavailable: return kExitTempFail;
    case policy::StateErrc::kForeign: return kExitConfig;
    default: return kExitSoftware;
  }
}

policy::TimeMs now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Where a database is and how to log in to it.
struct Target {
  std::string database;
  store::DatabaseOptions options;
  ~Target() { signers::wipe(options.password); }
};

// --config FILE, or --database PATH_OR_URL with --password-env NAME.
std::expected<Target, int> target_of(const std::optional<std::string>& config_path,
                                     const std::optional<std::string>& database,
                                     const std::optional<std::string>& password_env) {
  Target t;
  if (config_path) {
    auto text = read_file(*config_path);
    if (!text) return std::unexpected(fail(kExitNoInput, *config_path + ": " + text.error()));
    auto config = service::parse_config(*text, fs::path(*config_path).parent_path().string());
    if (!config) {
      for (const auto& p : config.error()) std::fprintf(stderr, "%s: %s\n", config_path->c_str(), p.c_str());
      return std::unexpected(kExitDataErr);
    }
    t.database = config->database;
    auto password = read_database_password(config->database_password_file, config->database_password_env);
    if (!password) return std::unexpected(fail(kExitDataErr, *config_path + ": " + password.error()));
    t.options.password = std::move(*password);
    return t;
  }
  t.database = *database;
  if (password_env) {
    auto password = read_database_password(std::nullopt, *password_env);
    if (!password) return std::unexpected(fail(kExitUsage, password.error()));
    t.options.password = std::move(*password);
  }
  return t;
}

bool missing_file(const std::string& database) {
  return !store::is_postgres_url(database) && !fs::exists(database);
}

int run_migrate_or_version(Args args, bool migrate) {
  const std::string command = migrate ? "db migrate" : "db version";
  std::optional<std::string> config_path, database, password_env;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::optional<std::string>* value = nullptr;
    if (args[i] == "--config") value = &config_path;
    else if (args[i] == "--database") value = &database;
    else if (args[i] == "--password-env") value = &password_env;
    if (value == nullptr || i + 1 >= args.size()) return usage(command + ": unexpected '" + std::string(args[i]) + "'");
    *value = std::string(args[++i]);
  }
  if (config_path.has_value() == database.has_value()) {
    return usage(command + " needs one of --config FILE or --database PATH_OR_URL");
  }
  if (config_path && password_env) return usage(command + ": --password-env goes with --database (the configuration names its own)");
  auto target = target_of(config_path, database, password_env);
  if (!target) return target.error();
  const std::string named = store::redact_database(target->database);
  if (missing_file(target->database)) return fail(kExitNoInput, named + ": no such database file");
  target->options.lock_timeout = std::chrono::milliseconds(30'000);
  target->options.read_only = !migrate;
  auto connection = store::open_database(target->database, target->options);
  if (!connection) return fail(exit_code_of(connection.error()), named + ": " + connection.error().message());
  if (!migrate) {
    auto status = store::inspect_schema(**connection);
    if (!status) return fail(exit_code_of(status.error()), named + ": " + status.error().message());
    if (status->version == store::kForeignSchema) return fail(kExitConfig, named + ": " + status->detail);
    std::printf("%s: schema version %lld (this txguard: %lld)%s\n", named.c_str(),
                static_cast<long long>(status->version), static_cast<long long>(store::kCurrentSchemaVersion),
                status->version == 0                                ? ", empty"
                : status->version < store::kCurrentSchemaVersion    ? ", older: run txguard db migrate"
                : status->version > store::kCurrentSchemaVersion    ? ", newer: use a newer txguard"
                                                                    : ", current");
    return kExitOk;
  }
  auto migrated = store::migrate(**connection, now_ms());
  if (!migrated) return fail(exit_code_of(migrated.error()), named + ": " + migrated.error().message());
  if (migrated->from == migrated->to) {
    std::printf("%s: already at schema version %lld; nothing to do\n", named.c_str(),
                static_cast<long long>(migrated->to));
  } else {
    std::printf("%s: migrated from schema version %lld to %lld\n", named.c_str(),
                static_cast<long long>(migrated->from), static_cast<long long>(migrated->to));
  }
  return kExitOk;
}

int run_copy(Args args) {
  std::optional<std::string> from, to, from_env, to_env;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::optional<std::string>* value = nullptr;
    if (args[i] == "--from") value = &from;
    else if (args[i] == "--to") value = &to;
    else if (args[i] == "--from-password-env") value = &from_env;
    else if (args[i] == "--to-password-env") value = &to_env;
    if (value == nullptr || i + 1 >= args.size()) return usage("db copy: unexpected '" + std::string(args[i]) + "'");
    *value = std::string(args[++i]);
  }
  if (!from || !to) return usage("db copy needs --from PATH_OR_URL and --to PATH_OR_URL");
  if (*from == *to) return usage("db copy: --from and --to name the same database");
  // One variable may serve both sides; it is read (and removed from the environment) once.
  const bool shared_env = from_env && to_env && *from_env == *to_env;
  auto source = target_of(std::nullopt, from, from_env);
  if (!source) return source.error();
  auto destination = target_of(std::nullopt, to, shared_env ? std::nullopt : to_env);
  if (!destination) return destination.error();
  if (shared_env) destination->options.password = source->options.password;
  const std::string from_named = store::redact_database(source->database);
  const std::string to_named = store::redact_database(destination->database);
  if (missing_file(source->database)) return fail(kExitNoInput, from_named + ": no such database file");

  source->options.read_only = true;
  auto from_c = store::open_database(source->database, source->options);
  if (!from_c) return fail(exit_code_of(from_c.error()), from_named + ": " + from_c.error().message());
  auto source_status = store::inspect_schema(**from_c);
  if (!source_status) return fail(exit_code_of(source_status.error()), from_named + ": " + source_status.error().message());
  if (source_status->version != store::kCurrentSchemaVersion) {
    if (source_status->version == store::kForeignSchema) return fail(kExitConfig, from_named + ": " + source_status->detail);
    if (source_status->version == 0) return fail(kExitConfig, from_named + ": the source is empty: nothing to copy");
    return fail(kExitConfig,
                from_named + ": schema version " + std::to_string(source_status->version) + ", not this txguard's (" +
                    std::to_string(store::kCurrentSchemaVersion) + ")" +
                    (source_status->version < store::kCurrentSchemaVersion
                         ? ": migrate it first, run: txguard db migrate --database " + from_named
                         : ": this txguard is older than the source; use a newer one"));
  }

  destination->options.lock_timeout = std::chrono::milliseconds(30'000);
  // A SQLite file this command creates goes again when the copy fails (it would only be empty).
  const bool creates_file = missing_file(destination->database);
  const auto remove_created = [&] {
    if (!creates_file) return;
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(destination->database + suffix, ec);
  };
  auto to_c = store::open_database(destination->database, destination->options);
  if (!to_c) return fail(exit_code_of(to_c.error()), to_named + ": " + to_c.error().message());
  auto target_status = store::inspect_schema(**to_c);
  if (!target_status) return fail(exit_code_of(target_status.error()), to_named + ": " + target_status.error().message());
  if (target_status->version != 0) {
    return fail(kExitCantCreate, to_named + ": the destination is not empty" +
                                     (target_status->version == store::kForeignSchema
                                          ? " (" + target_status->detail + ")"
                                          : " (schema version " + std::to_string(target_status->version) + ")") +
                                     ": db copy never merges two databases; give it a new, empty database");
  }

  auto report = store::copy_database(**from_c, **to_c, now_ms());
  if (!report) {
    to_c->reset();
    remove_created();
    return fail(exit_code_of(report.error()), "copy " + from_named + " -> " + to_named + ": " +
                                                  report.error().message() + " (the destination was rolled back)");
  }
  // Read the committed copy back through a connection of its own, as log export and the auditor do.
  auto reader = store::DecisionLogReader::open(destination->database, destination->options);
  if (!reader) return fail(kExitSoftware, to_named + ": cannot read the copy back: " + reader.error().message());
  auto size = (*reader)->size();
  const bool reads_back = size && *size == report->log_size && [&] {
    auto root = (*reader)->root(*size);
    return root && *root == report->root;
  }();
  if (!reads_back) {
    return fail(kExitSoftware, to_named + ": the committed copy's log does not read back as the source's: discard it");
  }

  std::printf("copied %s -> %s (schema version %lld)\n", from_named.c_str(), to_named.c_str(),
              static_cast<long long>(store::kCurrentSchemaVersion));
  for (const auto& [table, rows] : report->rows) {
    std::printf("  %-18s %llu rows\n", table.c_str(), static_cast<unsigned long long>(rows));
  }
  std::printf("log: %llu records, root %s\n", static_cast<unsigned long long>(report->log_size),
              codec::to_hex(report->root).c_str());
  if (report->head_signer) {
    std::printf("last signed tree head: size %llu, root %s, signer %s\n",
                static_cast<unsigned long long>(report->head_size), codec::to_hex(report->head_root).c_str(),
                codec::to_checksum(*report->head_signer).c_str());
  } else {
    std::printf("last signed tree head: none\n");
  }
  std::printf("verified: the same rows in every table, the same Merkle roots, the head's signature recovers the "
              "same signer\n");
  return kExitOk;
}

}  // namespace

int run_db(Args args) {
  // A SQLite file (and its journal) this command creates holds every decision: the owner's alone, as
  // txguard serve makes it (serve refuses a database open to group or others).
  ::umask(077);
  if (args.empty()) return usage("db needs a subcommand: migrate, version or copy");
  const std::string_view sub = args[0];
  const Args rest(args.data() + 1, args.size() - 1);
  bool help = false;
  for (std::string_view a : args) help = help || a == "--help" || a == "-h";
  if (help || sub == "help") {
    std::fputs(kDbUsage.data(), stdout);
    return kExitOk;
  }
  if (sub == "migrate") return run_migrate_or_version(rest, true);
  if (sub == "version") return run_migrate_or_version(rest, false);
  if (sub == "copy") return run_copy(rest);
  return usage("db: unknown subcommand '" + std::string(sub) + "'");
}

}  // namespace txguard::cli
