#include "guard/http/tls_util.hpp"

#include <array>
#include <cerrno>
#include <memory>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace txguard::http::detail {

std::string openssl_error() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out.empty() ? "unknown error" : out;
}

std::expected<void, std::string> check_readable(const std::string& path, std::string_view what) {
  const std::string prefix = std::string(what) + " " + path + ": ";
  if (path.empty()) return std::unexpected(std::string(what) + ": no file named");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(prefix + "cannot open (" + std::generic_category().message(errno) + ")");
  struct stat st {};
  const int rc = ::fstat(fd, &st);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return std::unexpected(prefix + "cannot stat (" + std::generic_category().message(err) + ")");
  if (!S_ISREG(st.st_mode)) return std::unexpected(prefix + "not a regular file");
  if (st.st_size == 0) return std::unexpected(prefix + "empty file");
  return {};
}

std::optional<ClientCertificate> verified_peer_certificate(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;

  ClientCertificate out;
  const std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) return std::nullopt;
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len > 0 && data != nullptr) out.subject.assign(data, static_cast<std::size_t>(len));

  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &md_len) != 1) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  out.sha256_fingerprint.reserve(2 * md_len);
  for (unsigned i = 0; i < md_len; ++i) {
    out.sha256_fingerprint += kHex[md[i] >> 4];
    out.sha256_fingerprint += kHex[md[i] & 0x0f];
  }
  return out;
}

}  // namespace txguard::http::detail
