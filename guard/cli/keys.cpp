// txguard keys: create, import, inspect and list the encrypted keystores (Web3 Secret Storage V3) the
// co-signer signs with. The format and the cryptography are signers/keystore; this file reads and
// writes files and takes the passphrase from a file or the environment, never from the command line
// (argv is visible to every local user in ps and lands in shell history).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "guard/cli/cli.hpp"
#include "policy/codec/address.hpp"
#include "signers/keystore.hpp"
#include "signers/secure_memory.hpp"

namespace txguard::cli {
namespace {

using namespace txguard::signers;

// A passphrase or key file is a line of text; anything far larger is not one.
constexpr std::size_t kMaxSecretFileBytes = 4096;

constexpr std::string_view kKeysUsage =
    "usage: txguard keys new --out FILE [--kdf scrypt|pbkdf2] [--light] PASSPHRASE\n"
    "       txguard keys import --out FILE --key-file FILE [--kdf scrypt|pbkdf2] [--light] PASSPHRASE\n"
    "       txguard keys address FILE [--verify PASSPHRASE]\n"
    "       txguard keys list DIR\n"
    "\n"
    "Keystores are Web3 Secret Storage (V3) JSON files, the format of geth, ethers and cast wallet.\n"
    "\n"
    "  new      generate a key from the operating system's RNG, write its keystore to FILE and print\n"
    "           its address\n"
    "  import   encrypt the raw private key in --key-file (64 hex digits, 0x optional) to FILE and\n"
    "           print its address; the key never goes on the command line\n"
    "  address  print the keystore's address from its \"address\" field (no passphrase needed; the\n"
    "           field is not authenticated); with --verify, decrypt the keystore to check the\n"
    "           passphrase and that the field is the key's address\n"
    "  list     every keystore in DIR, one per line: file name, a tab, the address ('-' if the file\n"
    "           has no address field); files that are not keystores are reported on stderr\n"
    "\n"
    "PASSPHRASE is one of (never the passphrase itself on the command line):\n"
    "  --passphrase-file FILE  the file's content without its final newline (one line)\n"
    "  --passphrase-env NAME   the value of the environment variable NAME\n"
    "An empty passphrase is refused.\n"
    "\n"
    "options:\n"
    "  --out FILE     where to write the keystore: created with mode 0600, never overwritten, never\n"
    "                 left half-written (temporary file, fsync, then link into place)\n"
    "  --kdf KDF      scrypt (default: n=131072 r=8 p=1, about 128 MiB, as ethers) or pbkdf2\n"
    "                 (HMAC-SHA256, c=262144)\n"
    "  --light        cheap KDF parameters (scrypt n=4096, pbkdf2 c=8192) FOR DEVELOPMENT AND TESTS\n"
    "                 ONLY: a stolen light keystore is brute-forced thousands of times faster\n"
    "\n"
    "exit status: 0 ok, 64 usage error, 65 bad data (a malformed keystore or key file, a wrong\n"
    "passphrase, an empty passphrase; one line on stderr names the file and the field), 66 an input\n"
    "file or directory that cannot be read, 73 the output file exists or cannot be created.\n";

int print_usage() {
  std::fputs(kKeysUsage.data(), stdout);
  return kExitOk;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "txguard keys: %s\n(run 'txguard keys --help' for usage)\n", message.c_str());
  return kExitUsage;
}

int data_error(const std::string& file, const std::string& message) {
  std::fprintf(stderr, "txguard keys: %s: %s\n", file.c_str(), message.c_str());
  return kExitDataErr;
}

int no_input(const std::string& file) {
  std::fprintf(stderr, "txguard keys: cannot read '%s'\n", file.c_str());
  return kExitNoInput;
}

// At most `limit` + 1 bytes of a file (one more than allowed, so the caller can tell "too large");
// nullopt when it cannot be opened or read.
std::optional<std::string> read_file(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return std::nullopt;
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return std::nullopt;
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

struct Options {
  std::optional<std::string> out, key_file, passphrase_file, passphrase_env, kdf;
  bool light = false;
  bool verify = false;
  bool help = false;
  std::vector<std::string> positional;
};

// Parses the options of one subcommand; `allowed` lists the options it takes. Returns an exit code
// on a usage error.
std::optional<int> parse_options(Args args, std::initializer_list<std::string_view> allowed, Options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
      continue;
    }
    if (a == "--passphrase" || a.starts_with("--passphrase=") || a.starts_with("--password")) {
      return usage_error("a passphrase on the command line is refused (ps and shell history show it): use "
                         "--passphrase-file FILE or --passphrase-env NAME");
    }
    if (!(a.starts_with("--") && a.size() > 2)) {
      o.positional.emplace_back(a);
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), a) == allowed.end()) {
      return usage_error("unknown option '" + std::string(a) + "'");
    }
    if (a == "--light") {
      o.light = true;
      continue;
    }
    if (a == "--verify") {
      o.verify = true;
      continue;
    }
    if (i + 1 >= args.size() || args[i + 1].empty()) return usage_error(std::string(a) + " needs a value");
    std::string value(args[++i]);
    std::optional<std::string>* slot = a == "--out"               ? &o.out
                                       : a == "--key-file"        ? &o.key_file
                                       : a == "--passphrase-file" ? &o.passphrase_file
                                       : a == "--passphrase-env"  ? &o.passphrase_env
                                                                  : &o.kdf;
    if (slot->has_value()) return usage_error(std::string(a) + " given twice");
    *slot = std::move(value);
  }
  return std::nullopt;
}

// The passphrase from --passphrase-file or --passphrase-env into `out`; 0 or an exit code.
int read_passphrase(const Options& o, std::string& out) {
  if (o.passphrase_file && o.passphrase_env) return usage_error("give --passphrase-file or --passphrase-env, not both");
  if (o.passphrase_env) {
    auto value = signers::take_environment_secret(*o.passphrase_env);
    if (!value) return usage_error("environment variable " + *o.passphrase_env + " is not set");
    out = std::move(*value);
    signers::wipe(*value);
    if (out.empty()) return data_error("$" + *o.passphrase_env, "empty passphrase refused");
    return 0;
  }
  if (!o.passphrase_file) {
    return usage_error("a passphrase is needed: --passphrase-file FILE or --passphrase-env NAME");
  }
  auto text = read_file(*o.passphrase_file, kMaxSecretFileBytes);
  if (!text) return no_input(*o.passphrase_file);
  out = std::move(*text);
  wipe(*text);
  if (out.size() > kMaxSecretFileBytes) {
    wipe(out);
    return data_error(*o.passphrase_file, "larger than " + std::to_string(kMaxSecretFileBytes) + " bytes; not a passphrase file");
  }
  // One final newline is what editors and `echo` add; it is not part of the passphrase (geth's
  // --password file is read the same way).
  if (out.ends_with('\n')) out.pop_back();
  if (out.ends_with('\r')) out.pop_back();
  if (out.find('\n') != std::string::npos) {
    wipe(out);
    return data_error(*o.passphrase_file, "more than one line; the passphrase is the file's single line");
  }
  if (out.empty()) return data_error(*o.passphrase_file, "empty passphrase refused");
  return 0;
}

// Holds a secret string and wipes it on every way out of a function.
struct WipeOnExit {
  std::string& secret;
  ~WipeOnExit() { wipe(secret); }
};

void fsync_directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  // Best effort: the file is complete either way; this makes its directory entry survive a crash.
  ::fsync(fd);
  ::close(fd);
}

// Creates `path` holding `text` with mode 0600, never replacing an existing file and never leaving a
// partial file under `path`: write a temporary file in the same directory (O_EXCL, 0600), fsync it,
// link(2) it to `path` (which fails with EEXIST rather than replace anything, atomically), then
// remove the temporary name. Returns 0 or an errno value.
int write_new_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return errno;
  int err = 0;
  // The umask can only narrow 0600; fchmod states the intent whatever it is.
  if (::fchmod(fd, 0600) != 0) err = errno;
  std::size_t done = 0;
  while (err == 0 && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno != EINTR) err = errno;
    } else {
      done += static_cast<std::size_t>(n);
    }
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::link(tmp.c_str(), path.c_str()) != 0) err = errno;
  ::unlink(tmp.c_str());
  if (err == 0) fsync_directory_of(path);
  return err;
}

int cannot_create(const std::string& path, int err) {
  if (err == EEXIST) {
    std::fprintf(stderr, "txguard keys: %s: already exists; a keystore is never overwritten\n", path.c_str());
  } else {
    std::fprintf(stderr, "txguard keys: cannot create '%s': %s\n", path.c_str(), std::strerror(err));
  }
  return kExitCantCreate;
}

std::optional<KdfParams> kdf_params(const Options& o) {
  const std::string kdf = o.kdf.value_or("scrypt");
  if (kdf == "scrypt") return o.light ? KdfParams::scrypt_light() : KdfParams::scrypt_default();
  if (kdf == "pbkdf2") return o.light ? KdfParams::pbkdf2_light() : KdfParams::pbkdf2_default();
  return std::nullopt;
}

// Reads 64 hex digits (0x optional, surrounding white space ignored) straight into the key, so the
// key bytes are not left in intermediate heap buffers.
std::optional<codec::SecretKey> parse_raw_key(std::string_view text) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  if (text.size() != 64) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  codec::Hash32 bytes{};
  bool ok = true;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    ok = ok && hi >= 0 && lo >= 0;
    bytes[i] = static_cast<std::uint8_t>(((hi & 0xf) << 4) | (lo & 0xf));
  }
  const codec::SecretKey key(bytes);
  std::fill(bytes.begin(), bytes.end(), std::uint8_t{0});
  if (!ok) return std::nullopt;
  return key;
}

// Shared by new and import: encrypt `key`, write --out, print the address.
int write_keystore(const Options& o, const codec::SecretKey& key, const std::string& passphrase, const KdfParams& params) {
  const auto address = codec::address_of(key);
  if (!address) return data_error("key", "not a valid secp256k1 key");
  const std::string text = encrypt_keystore(key, passphrase, params);
  if (const int err = write_new_file(*o.out, text); err != 0) return cannot_create(*o.out, err);
  std::printf("%s\n", codec::to_checksum(*address).c_str());
  std::fprintf(stderr, "txguard keys: wrote %s (%s)%s\n", o.out->c_str(), params.describe().c_str(),
               o.light ? "; light KDF parameters are for development and tests only" : "");
  return kExitOk;
}

// The checks new and import share before any expensive work: --out given and free, a known --kdf.
std::optional<int> check_output_options(const Options& o) {
  if (!o.out) return usage_error("--out FILE is required");
  if (!kdf_params(o)) return usage_error("unknown --kdf '" + *o.kdf + "' (scrypt or pbkdf2)");
  struct stat st {};
  if (::lstat(o.out->c_str(), &st) == 0) return cannot_create(*o.out, EEXIST);
  return std::nullopt;
}

int run_new(Args args) {
  Options o;
  if (auto err = parse_options(args, {"--out", "--kdf", "--light", "--passphrase-file", "--passphrase-env"}, o)) return *err;
  if (o.help) return print_usage();
  if (!o.positional.empty()) return usage_error("new takes no arguments besides options");
  if (auto err = check_output_options(o)) return *err;
  std::string passphrase;
  const WipeOnExit guard{passphrase};
  if (const int err = read_passphrase(o, passphrase); err != 0) return err;
  return write_keystore(o, generate_secret_key(), passphrase, *kdf_params(o));
}

int run_import(Args args) {
  Options o;
  if (auto err = parse_options(args, {"--out", "--key-file", "--kdf", "--light", "--passphrase-file", "--passphrase-env"}, o)) {
    return *err;
  }
  if (o.help) return print_usage();
  if (!o.positional.empty()) return usage_error("import takes the key from --key-file FILE, never from the command line");
  if (!o.key_file) return usage_error("--key-file FILE is required");
  if (auto err = check_output_options(o)) return *err;
  std::string passphrase;
  const WipeOnExit passphrase_guard{passphrase};
  if (const int err = read_passphrase(o, passphrase); err != 0) return err;
  auto text = read_file(*o.key_file, kMaxSecretFileBytes);
  if (!text) return no_input(*o.key_file);
  const WipeOnExit text_guard{*text};
  const auto key = parse_raw_key(*text);
  if (!key) return data_error(*o.key_file, "not a private key: expected 64 hex digits, optionally 0x-prefixed");
  if (!key->is_valid()) return data_error(*o.key_file, "not a valid secp256k1 private key (0, or not below the group order)");
  return write_keystore(o, *key, passphrase, *kdf_params(o));
}

int run_address(Args args) {
  Options o;
  if (auto err = parse_options(args, {"--verify", "--passphrase-file", "--passphrase-env"}, o)) return *err;
  if (o.help) return print_usage();
  if (o.positional.size() != 1) return usage_error("address needs exactly one keystore FILE");
  if (!o.verify && (o.passphrase_file || o.passphrase_env)) return usage_error("a passphrase is only used with --verify");
  const std::string& file = o.positional[0];
  auto text = read_file(file, kMaxKeystoreBytes);
  if (!text) return no_input(file);
  auto keystore = parse_keystore(*text);
  if (!keystore) return data_error(file, keystore.error().message());
  if (!o.verify) {
    if (!keystore->address) {
      return data_error(file, "$.address: missing (the address is known only after decryption: use --verify)");
    }
    std::printf("%s\n", codec::to_checksum(*keystore->address).c_str());
    return kExitOk;
  }
  std::string passphrase;
  const WipeOnExit guard{passphrase};
  if (const int err = read_passphrase(o, passphrase); err != 0) return err;
  auto signer = KeystoreSigner::open(*text, passphrase);
  if (!signer) return data_error(file, signer.error().message());
  std::printf("%s\n", codec::to_checksum(signer->address()).c_str());
  return kExitOk;
}

int run_list(Args args) {
  Options o;
  if (auto err = parse_options(args, {}, o)) return *err;
  if (o.help) return print_usage();
  if (o.positional.size() != 1) return usage_error("list needs exactly one DIR");
  const std::string& dir = o.positional[0];
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    std::fprintf(stderr, "txguard keys: cannot read directory '%s': %s\n", dir.c_str(), ec.message().c_str());
    return kExitNoInput;
  }
  std::vector<std::string> names;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // Hidden files, and the temporary files of a keystore being written, are not keystores.
    if (name.starts_with('.') || name.find(".tmp.") != std::string::npos) continue;
    if (it->is_regular_file(ec)) names.push_back(name);
  }
  if (ec) {
    std::fprintf(stderr, "txguard keys: cannot read directory '%s': %s\n", dir.c_str(), ec.message().c_str());
    return kExitNoInput;
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    auto text = read_file(path, kMaxKeystoreBytes);
    if (!text) {
      std::fprintf(stderr, "txguard keys: skipping %s: cannot read it\n", name.c_str());
      continue;
    }
    auto keystore = parse_keystore(*text);
    if (!keystore) {
      std::fprintf(stderr, "txguard keys: skipping %s: %s\n", name.c_str(), keystore.error().message().c_str());
      continue;
    }
    std::printf("%s\t%s\n", name.c_str(), keystore->address ? codec::to_checksum(*keystore->address).c_str() : "-");
  }
  return kExitOk;
}

}  // namespace

int run_keys(Args args) {
  if (args.empty()) return usage_error("expected 'new', 'import', 'address' or 'list'");
  const std::string_view sub = args[0];
  const Args rest(args.data() + 1, args.size() - 1);
  if (sub == "--help" || sub == "-h" || sub == "help") return print_usage();
  if (sub == "new") return run_new(rest);
  if (sub == "import") return run_import(rest);
  if (sub == "address") return run_address(rest);
  if (sub == "list") return run_list(rest);
  return usage_error("unknown subcommand '" + std::string(sub) + "' (expected 'new', 'import', 'address' or 'list')");
}

}  // namespace txguard::cli
