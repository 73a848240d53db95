// txguard's HTTP/1.1 server: the transport under the REST and JSON-RPC routes, on Boost.Beast with
// OpenSSL for TLS. It knows nothing about routes, tokens or policy: it reads one bounded request at a
// time per connection, hands it to a Handler, and writes the Response the handler gives back.
//
// Protocol: HTTP/1.1 with keep-alive and HTTP/1.0. Pipelined requests on one connection are handled
// one at a time, in order (the next request is not read until the previous response is written).
// `Expect: 100-continue` is answered before the body is read (once the handler let the header in).
//
// Bounds (ServerOptions): body, header, the time to receive the header, then the body, the time the
// handler has to respond, the idle time between keep-alive requests, the time a response may take to
// be written, the number of open connections, and the number of open connections from one address
// (peer_address_key: an IPv4 address, or the /64 of an IPv6 address). Every refusal made by the
// transport is JSON {"error":{"code":"<kebab-case>","message":"<what is wrong>"}} with content-type
// application/json:
//   400 bad-request       malformed HTTP (request line, header field, Content-Length, chunk framing,
//                         a Transfer-Encoding other than chunked, an HTTP version other than 1.0/1.1);
//                         the connection is closed afterwards
//   408 timeout           the header or body did not arrive in time (sent when the connection can
//                         still carry it; an idle keep-alive connection is closed without a word)
//   413 body-too-large    Content-Length or the de-chunked body exceeds max_body_bytes; then close
//   431 header-too-large  the header exceeds max_header_bytes; then close
//   500 internal          the handler threw, or answered with a status outside 200..599
//   503 timeout           the handler did not respond within response_timeout (a later respond() is
//                         dropped)
//   503 unavailable       sent (plain HTTP only, best effort) to a connection beyond max_connections
//                         or beyond max_connections_per_address, which is then closed; a TLS
//                         connection beyond a limit is closed at once
//
// The header first: once a request's header has arrived, and before any of its body is read (and
// before `100 Continue` is sent), Handler::authorize_header judges it. A handler that answers there
// (e.g. 401 for a missing token) gets its answer written without the body ever being read; the body
// limit (413) is checked only after that, so a refusal does not depend on what the body claims.
//
// Every response carries `Server: txguard`. No exception escapes to the I/O threads, and the library
// writes nothing to stdout or stderr (the service logs).
//
// TLS: TLS 1.2 and 1.3 only. With client_ca_file, client certificates are verified against it (mTLS);
// with require_client_cert as well, a handshake without a certificate fails. A certificate that does
// not verify always fails the handshake. Plain HTTP sent to a TLS port fails the handshake and the
// connection is closed at once.
//
// Thread safety: Server's members may be called from any thread. Handler::authorize_header and
// Handler::handle run on I/O threads, possibly several at once, and must not block for long (hand work to a pool and respond later). Respond may be called
// from any thread, at any time, even after the server stopped (it is then dropped).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txguard::http {

/// A client certificate that verified against TlsOptions::client_ca_file.
struct ClientCertificate {
  std::string subject;             ///< RFC 2253 form, e.g. "CN=ops,O=Example"
  std::string sha256_fingerprint;  ///< SHA-256 of the DER certificate, 64 lowercase hex digits
};

struct Request {
  std::string method;  ///< "GET", "POST", ... as sent
  std::string target;  ///< as sent
  std::string path;    ///< target up to '?'
  std::string query;   ///< after '?', raw ("" when none)
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased, in order sent
  std::string body;    ///< de-chunked
  std::string peer;    ///< "ip:port" of the client ("[ip6]:port" for IPv6)
  bool tls = false;
  std::optional<ClientCertificate> client_cert;  ///< set when the client presented a certificate that verified
  unsigned version = 11;                         ///< 10 for HTTP/1.0, 11 for HTTP/1.1

  /// The value of the first header named `lower_name` (lower case), if any.
  std::optional<std::string_view> header(std::string_view lower_name) const;
};

struct Response {
  unsigned status = 200;  ///< 200..599; anything else is replaced by 500 internal
  std::string content_type = "application/json";
  std::string body;
  /// Extra headers. Content-Length, Connection and Server are set by the transport and dropped here;
  /// a header whose name is not an HTTP token or whose value holds CR, LF or NUL is dropped.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Delivers the response to a request. Call it exactly once, from any thread, possibly later; extra
/// calls, calls after the response timeout and calls after the connection or server is gone are
/// dropped safely.
using Respond = std::function<void(Response)>;

class Handler {
 public:
  virtual ~Handler() = default;
  /// Called on an I/O thread for every request as soon as its header has arrived, before any byte
  /// of its body is read and before `100 Continue` is sent. `head` is the request without its body
  /// (head.body is empty, whatever Content-Length says). Return a Response to answer the request with
  /// it at once: its body is then never read, handle() is not called, and when a body was announced
  /// the connection is closed after the response (its unread bytes are drained, never parsed). Return
  /// nothing to read the body (subject to max_body_bytes) and call handle(). Must be quick and must
  /// not block; an exception thrown here is answered with 500 internal. The default answers nothing.
  virtual std::optional<Response> authorize_header(const Request& head) {
    (void)head;
    return std::nullopt;
  }
  /// Called on an I/O thread for every complete request that authorize_header let through. Must not
  /// block for long. An exception thrown here (before respond was called) is answered with 500 internal.
  virtual void handle(Request request, Respond respond) = 0;
};

/// The key per-address limits count a peer under: for "ip:port" the IPv4 address ("10.0.0.7"), for
/// "[ip6]:port" the /64 it belongs to ("2001:db8:1:2::/64": one host usually holds a whole /64), and
/// an IPv4-mapped IPv6 address as its IPv4 address. Anything that does not parse is its own key.
std::string peer_address_key(std::string_view peer);

struct TlsOptions {
  std::string cert_file;  ///< PEM certificate chain, leaf first
  std::string key_file;   ///< PEM private key of the leaf
  std::optional<std::string> client_ca_file;  ///< PEM CA certificates that client certificates must chain to
  bool require_client_cert = false;           ///< needs client_ca_file
};

struct ServerOptions {
  std::string host = "127.0.0.1";  ///< an IP address (v4 or v6) to bind
  std::uint16_t port = 0;          ///< 0: the OS picks (see Server::port)
  std::optional<TlsOptions> tls;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;  ///< request line and header fields together
  std::chrono::milliseconds header_timeout{10'000};    ///< TLS handshake, then the complete header, must each arrive within this
  std::chrono::milliseconds body_timeout{30'000};      ///< then the body
  std::chrono::milliseconds response_timeout{30'000};  ///< the handler must respond within this, else 503 timeout
  std::chrono::milliseconds idle_timeout{60'000};      ///< keep-alive idle time before the next request's first byte
  std::chrono::milliseconds write_timeout{30'000};     ///< a response must be written (the client must read it) within this
  std::size_t max_connections = 1024;  ///< beyond: accept and close at once (503 first on plain HTTP)
  /// Open connections from one address (peer_address_key); beyond: as max_connections. So one
  /// client's idle sockets cannot take every connection slot from the others.
  std::size_t max_connections_per_address = 64;
  std::size_t threads = 2;             ///< I/O threads (0 is taken as 1)
};

class Server {
 public:
  /// Validates `options`, loads the TLS material, binds and listens, and starts `threads` I/O
  /// threads. Fails with a message naming the file and what is wrong with it (unreadable, not PEM,
  /// key does not match the certificate), or the address and the system error when binding fails.
  /// `handler` must outlive the server.
  static std::expected<std::unique_ptr<Server>, std::string> start(const ServerOptions& options, Handler& handler);

  /// The bound port (useful with port 0).
  std::uint16_t port() const noexcept;
  /// Whether the server speaks TLS.
  bool tls() const noexcept;
  /// Connections currently open (for tests and metrics).
  std::size_t connections() const noexcept;

  /// Graceful stop: stop accepting (new connections are refused), close idle connections, let
  /// in-flight requests finish and be answered with `Connection: close` (up to `grace`), then close
  /// every connection and join the threads. Idempotent; safe from any thread except an I/O thread
  /// of this server (it would wait for itself). The destructor calls stop({}) if needed.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txguard::http
