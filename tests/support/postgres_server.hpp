// A real PostgreSQL 15 for the tests: initdb into a fresh temporary directory, pg_ctl on a free
// 127.0.0.1 port, password (SCRAM) authentication for one superuser, stopped and its directory removed
// when the test process exits. One server per test process, started on first use (about a second);
// each test takes its own database (create_database), so tests never see each other's rows.
//
// Under ctest every test case is a process of its own: the guard-pg/ tests share one server that the
// fixture test postgres/start_test_server starts (tests/tools/test_postgres.sh) and
// postgres/stop_test_server stops; TXGUARD_TEST_POSTGRES names its description file, and shared()
// then attaches to it instead of starting one. Tests that stop or restart a server take their own
// (own()), so they never disturb the tests running beside them.
//
// Runs as root too (CI containers): initdb refuses root, so the directory is handed to the `postgres`
// account and initdb/pg_ctl run under `runuser -u postgres --`. The server binaries are looked up in
// $TXGUARD_POSTGRES_BIN, then /usr/lib/postgresql/15/bin (Debian's postgresql-15, installed by
// deploy/setup.sh --test); a missing server fails the test with that message, it never skips.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace txguard::test {

class PostgresServer {
 public:
  /// The process's server, started on first use; a server that cannot start fails the calling test.
  static PostgresServer& shared() {
    // guard-pg/ tests: TXGUARD_TEST_POSTGRES; guard/ tests: TXGUARD_TEST_POSTGRES_SERVER (attach only).
    const char* attach = std::getenv("TXGUARD_TEST_POSTGRES");
    if (attach == nullptr || *attach == '\0') attach = std::getenv("TXGUARD_TEST_POSTGRES_SERVER");
    static PostgresServer server(attach);
    return server;
  }
  /// A server of the caller's own (started now, stopped when it goes): for tests that stop, restart
  /// or otherwise disturb the server.
  static std::unique_ptr<PostgresServer> own() { return std::unique_ptr<PostgresServer>(new PostgresServer(nullptr)); }

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  ~PostgresServer() {
    if (attached_) return;  // the fixture's server: postgres/stop_test_server stops it
    // Immediate: the data is thrown away with the directory.
    if (running_) run({pg_ctl(), "stop", "-m", "immediate", "-w", "-D", data_dir()});
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  /// A new, empty database owned by user(); its URL (no password: pass password() separately).
  std::string create_database() {
    // Unique across the processes that share an attached server.
    const std::string name = "txguard_test_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
    admin("CREATE DATABASE " + name);
    return url(name);
  }
  /// Drops a database of create_database(), ending its sessions first; errors are ignored (a test
  /// that stopped the server has nothing to drop).
  void drop_database(const std::string& database_url) noexcept {
    try_admin("DROP DATABASE IF EXISTS " + database_name(database_url) + " WITH (FORCE)");
  }

  std::string url(const std::string& database) const {
    return "postgresql://" + user() + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }
  /// The database a URL of url() names.
  static std::string database_name(const std::string& database_url) {
    return database_url.substr(database_url.rfind('/') + 1);
  }

  const std::string& user() const {
    static const std::string name = "txguard_test";
    return name;
  }
  const std::string& password() const { return password_; }
  int port() const { return port_; }
  /// Seconds the first start took (initdb included).
  double start_seconds() const { return start_seconds_; }

  /// pg_ctl restart -m fast: every connection is closed, the server comes back on the same port.
  void restart() {
    REQUIRE_MESSAGE(!attached_, "restart a server of your own (PostgresServer::own()), not the shared one");
    REQUIRE_MESSAGE(run({pg_ctl(), "restart", "-m", "fast", "-w", "-t", "30", "-D", data_dir(), "-l", log_file(), "-o",
                         server_options()}) == 0,
                    "pg_ctl restart failed: " << log_tail());
    running_ = true;
  }
  void stop() {
    REQUIRE_MESSAGE(!attached_, "stop a server of your own (PostgresServer::own()), not the shared one");
    REQUIRE_MESSAGE(run({pg_ctl(), "stop", "-m", "fast", "-w", "-t", "30", "-D", data_dir()}) == 0,
                    "pg_ctl stop failed: " << log_tail());
    running_ = false;
  }
  void start() {
    REQUIRE_MESSAGE(pg_ctl_start(), "pg_ctl start failed: " << log_tail());
    running_ = true;
  }

  /// Ends every other session connected to `database` (pg_terminate_backend), and waits until they
  /// are gone.
  void terminate_backends(const std::string& database) {
    admin("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '" + database +
          "' AND pid <> pg_backend_pid()");
  }

  /// Runs one statement as the superuser in the `postgres` database.
  void admin(const std::string& sql) {
    const std::string error = try_admin(sql);
    REQUIRE_MESSAGE(error.empty(), "test PostgreSQL: " << sql << ": " << error);
  }
  /// The same; returns the error ("" on success) instead of failing the test (for destructors).
  std::string try_admin(const std::string& sql) noexcept {
    const std::string port = std::to_string(port_);
    const char* keywords[] = {"host", "port", "dbname", "user", "password", "connect_timeout", nullptr};
    const char* values[] = {"127.0.0.1", port.c_str(), "postgres", user().c_str(), password_.c_str(), "5", nullptr};
    PGconn* conn = PQconnectdbParams(keywords, values, 0);
    std::string error;
    if (PQstatus(conn) != CONNECTION_OK) {
      error = std::string("connecting: ") + PQerrorMessage(conn);
    } else {
      PGresult* result = PQexec(conn, sql.c_str());
      const ExecStatusType status = PQresultStatus(result);
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) error = PQresultErrorMessage(result);
      PQclear(result);
    }
    PQfinish(conn);
    return error;
  }

 private:
  // Attaches to the server described by `attach` (lines "key=value": port, user, password), or starts
  // one when it is null or empty.
  explicit PostgresServer(const char* attach) {
    if (attach != nullptr && *attach != '\0') {
      std::ifstream in(attach);
      REQUIRE_MESSAGE(in.good(), "TXGUARD_TEST_POSTGRES names " << attach << ", which cannot be read");
      std::string line;
      while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
        if (key == "port") port_ = std::stoi(value);
        else if (key == "password") password_ = value;
      }
      REQUIRE_MESSAGE((port_ > 0 && !password_.empty()), attach << " does not describe a test server");
      attached_ = true;
      return;
    }
    start_new();
  }

  void start_new() {
    const auto started = std::chrono::steady_clock::now();
    bin_dir_ = find_bin_dir();
    REQUIRE_MESSAGE(!bin_dir_.empty(),
                    "PostgreSQL 15 server binaries not found (looked in $TXGUARD_POSTGRES_BIN and "
                    "/usr/lib/postgresql/15/bin): install them with deploy/setup.sh --test");
    std::string pattern = (std::filesystem::temp_directory_path() / "txguard-pg-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    password_ = random_password();
    const std::string pwfile = (dir_ / "pwfile").string();
    {
      std::ofstream out(pwfile);
      out << password_ << "\n";
    }
    ::chmod(pwfile.c_str(), 0600);
    if (::geteuid() == 0) {
      // initdb refuses to run as root: the cluster belongs to the postgres account.
      const passwd* account = ::getpwnam("postgres");
      REQUIRE_MESSAGE(account != nullptr, "running as root needs a `postgres` account to own the test server");
      REQUIRE(::chown(dir_.c_str(), account->pw_uid, account->pw_gid) == 0);
      REQUIRE(::chown(pwfile.c_str(), account->pw_uid, account->pw_gid) == 0);
      runuser_ = find_runuser();
      REQUIRE_MESSAGE(!runuser_.empty(), "running as root needs runuser (util-linux) to start the test server");
    }
    const int initdb = run({bin_dir_ + "/initdb", "-D", data_dir(), "-U", user(), "--auth=scram-sha-256",
                            "--pwfile=" + pwfile, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"});
    std::filesystem::remove(pwfile);
    if (initdb != 0) {
      const std::string output = command_log();
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      FAIL("initdb failed: " << output);
    }
    // A port free when probed can be taken before the server binds it: try a few.
    bool started_ok = false;
    for (int attempt = 0; attempt < 5 && !started_ok; ++attempt) {
      port_ = free_port();
      started_ok = pg_ctl_start();
    }
    if (!started_ok) {
      const std::string output = log_tail();
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      FAIL("pg_ctl start failed: " << output);
    }
    running_ = true;
    start_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  static std::string find_bin_dir() {
    std::vector<std::string> candidates;
    if (const char* configured = std::getenv("TXGUARD_POSTGRES_BIN"); configured != nullptr && *configured != '\0') {
      candidates.emplace_back(configured);
    }
    candidates.emplace_back("/usr/lib/postgresql/15/bin");
    for (const auto& dir : candidates) {
      if (::access((dir + "/initdb").c_str(), X_OK) == 0 && ::access((dir + "/pg_ctl").c_str(), X_OK) == 0) return dir;
    }
    return {};
  }

  static std::string find_runuser() {
    for (const char* path : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"}) {
      if (::access(path, X_OK) == 0) return path;
    }
    return {};
  }

  static std::string random_password() {
    std::random_device device;
    std::string text;
    const char* digits = "0123456789abcdef";
    for (int i = 0; i < 32; ++i) text.push_back(digits[device() % 16]);
    return "pw-" + text;
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ::close(fd);
    return ntohs(address.sin_port);
  }

  std::string pg_ctl() const { return bin_dir_ + "/pg_ctl"; }
  std::string data_dir() const { return (dir_ / "data").string(); }
  std::string log_file() const { return (dir_ / "server.log").string(); }
  std::string server_options() const {
    return "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) + " -c unix_socket_directories=" +
           dir_.string() + " -c fsync=on -c max_connections=100";
  }

  bool pg_ctl_start() {
    return run({pg_ctl(), "start", "-w", "-t", "30", "-D", data_dir(), "-l", log_file(), "-o", server_options()}) == 0;
  }

  // Runs a server program (as postgres when we are root) with its output appended to commands.log;
  // its exit status, or -1.
  int run(std::vector<std::string> args) const {
    if (!runuser_.empty()) args.insert(args.begin(), {runuser_, "-u", "postgres", "--"});
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string output = (dir_ / "commands.log").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    // The postgres account may not enter the test's working directory.
    posix_spawn_file_actions_addchdir_np(&actions, dir_.c_str());
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return -1;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string command_log() const { return read_tail((dir_ / "commands.log").string()); }
  std::string log_tail() const { return command_log() + "\n" + read_tail(log_file()); }
  static std::string read_tail(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
  }

  std::string bin_dir_;
  std::string runuser_;
  std::filesystem::path dir_;
  std::string password_;
  int port_ = 0;
  int databases_ = 0;
  bool running_ = false;
  bool attached_ = false;
  double start_seconds_ = 0;
};

}  // namespace txguard::test
