// TLS material made at test time (no key or certificate is committed): a CA, a server certificate
// for 127.0.0.1 and localhost, a client certificate from the same CA, and a client certificate from
// another CA, all P-256 ECDSA, written as PEM files into a directory. Header-only; every test binary
// may include it. Uses the OpenSSL 3 C API only.
#pragma once

#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace txguard::test {

struct TlsMaterial {
  std::string dir;
  std::string ca_cert;             ///< the CA that signed the server and client certificates
  std::string server_cert, server_key;  ///< CN=localhost, SAN IP:127.0.0.1 and DNS:localhost
  std::string client_cert, client_key;  ///< CN=txguard-test-client,O=txguard tests, signed by ca_cert
  std::string other_client_cert, other_client_key;  ///< signed by other_ca_cert
  std::string other_ca_cert;       ///< a second, unrelated CA
  std::string client_subject = "CN=txguard-test-client,O=txguard tests";  ///< client_cert's subject, RFC 2253
};

namespace tls_detail {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("make_tls_material: ") + what + " failed");
}

inline KeyPtr new_key() {
  KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
  check(key != nullptr, "EC P-256 key generation");
  return key;
}

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok == 1, "X509_add_ext");
}

inline void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                   -1, -1, 0) == 1,
        "X509_NAME_add_entry_by_txt");
}

/// A certificate for `key` with subject O=organization, CN=common_name, signed by issuer_key (self-
/// signed when issuer is null). `extensions` are (nid, value) pairs in openssl.cnf syntax.
inline CertPtr make_cert(EVP_PKEY* key, const std::string& common_name, const std::string& organization, X509* issuer,
                         EVP_PKEY* issuer_key, long serial, std::initializer_list<std::pair<int, const char*>> extensions) {
  CertPtr cert(X509_new(), &X509_free);
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1, "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600) != nullptr, "notAfter");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  add_name_entry(name, "O", organization);
  add_name_entry(name, "CN", common_name);
  check(X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1, "issuer");
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  for (const auto& [nid, value] : extensions) add_ext(cert.get(), issuer_cert, nid, value);
  check(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

inline void write_cert(const std::string& path, X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "w"), &BIO_free);
  check(bio != nullptr, path.c_str());
  check(PEM_write_bio_X509(bio.get(), cert) == 1, path.c_str());
}

inline void write_key(const std::string& path, EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "w"), &BIO_free);
  check(bio != nullptr, path.c_str());
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1, path.c_str());
}

inline CertPtr make_ca(EVP_PKEY* key, const std::string& name, long serial) {
  return make_cert(key, name, "txguard tests", nullptr, key, serial,
                   {{NID_basic_constraints, "critical,CA:TRUE"},
                    {NID_key_usage, "critical,keyCertSign,cRLSign"},
                    {NID_subject_key_identifier, "hash"}});
}

inline CertPtr make_client(EVP_PKEY* key, const std::string& name, X509* ca, EVP_PKEY* ca_key, long serial) {
  return make_cert(key, name, "txguard tests", ca, ca_key, serial,
                   {{NID_basic_constraints, "critical,CA:FALSE"},
                    {NID_key_usage, "critical,digitalSignature"},
                    {NID_ext_key_usage, "clientAuth"},
                    {NID_authority_key_identifier, "keyid"}});
}

}  // namespace tls_detail

/// Writes ca.crt, server.crt/.key, client.crt/.key, other-ca.crt and other-client.crt/.key (PEM)
/// into `dir` (which must exist) and returns their paths. Throws std::runtime_error on failure.
inline TlsMaterial make_tls_material(const std::string& dir) {
  using namespace tls_detail;
  TlsMaterial m;
  m.dir = dir;
  m.ca_cert = dir + "/ca.crt";
  m.server_cert = dir + "/server.crt";
  m.server_key = dir + "/server.key";
  m.client_cert = dir + "/client.crt";
  m.client_key = dir + "/client.key";
  m.other_ca_cert = dir + "/other-ca.crt";
  m.other_client_cert = dir + "/other-client.crt";
  m.other_client_key = dir + "/other-client.key";

  const KeyPtr ca_key = new_key();
  const CertPtr ca = make_ca(ca_key.get(), "txguard test CA", 1);
  const KeyPtr server_key = new_key();
  const CertPtr server = make_cert(server_key.get(), "localhost", "txguard tests", ca.get(), ca_key.get(), 2,
                                   {{NID_basic_constraints, "critical,CA:FALSE"},
                                    {NID_key_usage, "critical,digitalSignature"},
                                    {NID_ext_key_usage, "serverAuth"},
                                    {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                                    {NID_authority_key_identifier, "keyid"}});
  const KeyPtr client_key = new_key();
  const CertPtr client = make_client(client_key.get(), "txguard-test-client", ca.get(), ca_key.get(), 3);

  const KeyPtr other_ca_key = new_key();
  const CertPtr other_ca = make_ca(other_ca_key.get(), "txguard other CA", 1);
  const KeyPtr other_client_key = new_key();
  const CertPtr other_client =
      make_client(other_client_key.get(), "txguard-test-client", other_ca.get(), other_ca_key.get(), 2);

  write_cert(m.ca_cert, ca.get());
  write_cert(m.server_cert, server.get());
  write_key(m.server_key, server_key.get());
  write_cert(m.client_cert, client.get());
  write_key(m.client_key, client_key.get());
  write_cert(m.other_ca_cert, other_ca.get());
  write_cert(m.other_client_cert, other_client.get());
  write_key(m.other_client_key, other_client_key.get());
  return m;
}

}  // namespace txguard::test
