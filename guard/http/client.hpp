// A small synchronous HTTP/1.1 client for JSON-RPC upstreams (an Ethereum node): POST a JSON body,
// get the response body back. It keeps idle keep-alive connections for reuse.
//
// Thread safety: post_json may be called from any number of threads at once; each call takes an
// idle connection from a small pool (or opens a new one) and returns it afterwards.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>

namespace txguard::http {

struct ClientOptions {
  /// Bounds a whole post_json call: resolve, connect, TLS handshake, write and read (a retry on a
  /// stale connection gets what is left of it).
  std::chrono::milliseconds timeout{10'000};
  /// https: PEM CA certificates to verify the server against (default: the system's trust store).
  std::optional<std::string> ca_file;
  /// https: a client certificate and key (PEM) for upstreams that require mTLS.
  std::optional<std::string> cert_file;
  std::optional<std::string> key_file;
  /// Responses with a larger body are refused.
  std::size_t max_response_bytes = 16u << 20;
  /// Idle connections kept for reuse.
  std::size_t max_idle_connections = 4;
  /// Sent as "Authorization: Bearer <token>" with every request (txguard's own admin commands).
  std::optional<std::string> bearer_token;
};

class Client {
 public:
  /// url: http://host[:port][/path] or https://host[:port][/path] (host: a name, an IPv4 address or
  /// a bracketed IPv6 address). Errors for any other scheme, user info, a fragment, a bad port, or
  /// TLS material that cannot be loaded (the message names the file).
  static std::expected<std::unique_ptr<Client>, std::string> create(
      const std::string& url, std::chrono::milliseconds timeout = std::chrono::milliseconds{10'000});
  static std::expected<std::unique_ptr<Client>, std::string> create(const std::string& url,
                                                                     const ClientOptions& options);

  /// POSTs `body` with Content-Type application/json and returns the response body of a 2xx answer.
  /// Errors (never throws): "connect to the upstream failed: ...", "timeout after N ms ...",
  /// "upstream answered HTTP <status>: <start of the body, printable ASCII>", TLS failures, malformed
  /// or oversized responses. No error text (here or from create()) names the URL, its host or port:
  /// a provider's URL often carries an API key, and these texts reach clients and logs. A reused keep-alive connection that turns out to be closed by the server (nothing of
  /// a response read) is retried once on a fresh connection.
  std::expected<std::string, std::string> post_json(const std::string& body);

  /// The URL as given to create().
  const std::string& url() const noexcept;

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  class Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txguard::http
