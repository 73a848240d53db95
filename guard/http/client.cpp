// The JSON-RPC upstream client (contract in client.hpp). Every call runs Beast's asynchronous
// operations on a per-connection io_context in the calling thread, because only the asynchronous
// operations of beast::tcp_stream honour its deadline: one deadline bounds the whole call.
#include "guard/http/client.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "guard/http/tls_util.hpp"

namespace txguard::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

/// Response headers from a JSON-RPC node are small; this only stops a broken one.
constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;
/// How much of an error response's body an error message quotes.
constexpr std::size_t kQuotedBody = 200;

struct Target {
  bool https = false;
  std::string host;         // without brackets
  std::string port;         // decimal
  std::string path;         // starts with '/'
  std::string host_header;  // host[:port] as sent in Host
  bool host_is_ip = false;
};

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::expected<Target, std::string> parse_url(const std::string& url) {
  // Never the URL itself: its path or query often holds an API key, and this text reaches logs.
  const auto bad = [&](const std::string& why) { return std::unexpected("upstream URL: " + why); };
  for (const char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad("contains a space or control character");
  }
  Target t;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return bad("expected http://host[:port][/path] or https://...");
  const std::string scheme = lower(url.substr(0, scheme_end));
  if (scheme == "https") {
    t.https = true;
  } else if (scheme != "http") {
    return bad("unsupported scheme '" + scheme + "' (http or https)");
  }
  if (url.find('#') != std::string::npos) return bad("a fragment has no meaning here");
  const std::size_t auth_begin = scheme_end + 3;
  const std::size_t auth_end = std::min(url.find_first_of("/?", auth_begin), url.size());
  const std::string authority = url.substr(auth_begin, auth_end - auth_begin);
  if (authority.find('@') != std::string::npos) return bad("user info is not supported");

  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return bad("unterminated IPv6 address");
    t.host = authority.substr(1, close - 1);
    error_code ec;
    net::ip::make_address_v6(t.host, ec);
    if (ec) return bad("the bracketed host is not an IPv6 address");
    t.host_is_ip = true;
    const std::string rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("unexpected text after the IPv6 address");
      port_text = rest.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    const auto colon = authority.find(':');
    t.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
    error_code ec;
    net::ip::make_address_v4(t.host, ec);
    t.host_is_ip = !ec;
  }
  if (t.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("the port is not a number");
    }
    const unsigned long port = std::stoul(port_text);
    if (port == 0 || port > 65535) return bad("port " + std::to_string(port) + " is out of range");
    t.port = std::to_string(port);
  } else {
    t.port = t.https ? "443" : "80";
  }
  t.path = url.substr(auth_end);
  if (t.path.empty() || t.path.front() == '?') t.path = "/" + t.path;
  const bool v6 = t.host.find(':') != std::string::npos;
  t.host_header = v6 ? "[" + t.host + "]" : t.host;
  if (t.port != (t.https ? "443" : "80")) t.host_header += ":" + t.port;
  return t;
}

// Printable ASCII only: the quote ends up in JSON answers, where a stray byte >= 0x80 is not UTF-8.
std::string quote_body(const std::string& body) {
  std::string out = body.substr(0, kQuotedBody);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = ' ';
  }
  if (body.size() > kQuotedBody) out += "...";
  return out;
}

/// True for the errors a keep-alive connection that the server already closed produces.
bool is_stale_error(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::connection_aborted ||
         ec == net::ssl::error::stream_truncated;
}

}  // namespace

class Client::Impl {
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;

  struct Connection {
    net::io_context ioc{1};
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<TlsStream> tls;
    beast::flat_buffer buffer;
    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  };

  /// The result of one exchange on one connection.
  struct Outcome {
    std::expected<std::string, std::string> result;
    bool retry_fresh = false;  // the connection was stale: nothing of a response arrived
    bool reusable = false;
  };

 public:
  Impl(std::string url, Target target, ClientOptions options)
      : url_(std::move(url)), target_(std::move(target)), options_(std::move(options)) {}

  std::expected<void, std::string> init_tls() {
    if (!target_.https) return {};
    ssl_.emplace(net::ssl::context::tls_client);
    SSL_CTX* c = ssl_->native_handle();
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    ERR_clear_error();
    if (options_.ca_file) {
      if (auto ok = detail::check_readable(*options_.ca_file, "upstream CA file"); !ok) return ok;
      if (SSL_CTX_load_verify_locations(c, options_.ca_file->c_str(), nullptr) != 1) {
        return std::unexpected("upstream CA file " + *options_.ca_file + ": no PEM CA certificate in it (" +
                               detail::openssl_error() + ")");
      }
    } else if (SSL_CTX_set_default_verify_paths(c) != 1) {
      return std::unexpected("cannot load the system's trusted CA certificates (" + detail::openssl_error() + ")");
    }
    if (options_.cert_file.has_value() != options_.key_file.has_value()) {
      return std::unexpected("upstream client certificate: give both a certificate file and a key file");
    }
    if (options_.cert_file) {
      if (auto ok = detail::check_readable(*options_.cert_file, "upstream client certificate file"); !ok) return ok;
      if (SSL_CTX_use_certificate_chain_file(c, options_.cert_file->c_str()) != 1) {
        return std::unexpected("upstream client certificate file " + *options_.cert_file +
                               ": not a PEM certificate chain (" + detail::openssl_error() + ")");
      }
      if (auto ok = detail::check_readable(*options_.key_file, "upstream client key file"); !ok) return ok;
      if (SSL_CTX_use_PrivateKey_file(c, options_.key_file->c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(c) != 1) {
        return std::unexpected("upstream client key file " + *options_.key_file +
                               ": not a PEM private key matching " + *options_.cert_file + " (" +
                               detail::openssl_error() + ")");
      }
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    ERR_clear_error();
    return {};
  }

  const std::string& url() const noexcept { return url_; }

  std::expected<std::string, std::string> post_json(const std::string& body) {
    try {
      const auto deadline = Clock::now() + options_.timeout;
      bhttp::request<bhttp::string_body> req{bhttp::verb::post, target_.path, 11};
      req.set(bhttp::field::host, target_.host_header);
      req.set(bhttp::field::user_agent, "txguard");
      req.set(bhttp::field::content_type, "application/json");
      req.set(bhttp::field::accept, "application/json");
      if (options_.bearer_token) req.set(bhttp::field::authorization, "Bearer " + *options_.bearer_token);
      req.keep_alive(true);
      req.body() = body;
      req.prepare_payload();

      if (auto conn = take_idle()) {
        Outcome out = exchange(*conn, req, deadline);
        if (!out.retry_fresh) return finish(std::move(conn), std::move(out));
      }
      auto conn = std::make_unique<Connection>();
      if (auto ok = connect(*conn, deadline); !ok) return std::unexpected(ok.error());
      Outcome out = exchange(*conn, req, deadline);
      if (out.retry_fresh) out.result = std::unexpected(out.result.error());
      return finish(std::move(conn), std::move(out));
    } catch (const std::exception& e) {
      return std::unexpected(std::string("upstream request failed: ") + e.what());
    }
  }

 private:
  // Error texts never name the URL, the host or the port: a provider's URL carries its API key (in
  // the path, the query or a subdomain), and these texts reach JSON-RPC clients and logs. The caller
  // knows which upstream it asked and says so ("the upstream for chain 1").
  std::string timeout_error(std::string_view during) const {
    return "timeout after " + std::to_string(options_.timeout.count()) + " ms " + std::string(during) + " the upstream";
  }

  std::expected<std::string, std::string> finish(std::unique_ptr<Connection> conn, Outcome out) {
    if (out.reusable) {
      std::lock_guard lock(mutex_);
      if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(conn));
    }
    return std::move(out.result);
  }

  /// An idle connection the server has not closed meanwhile (a readable idle socket means EOF, a
  /// reset, or stray bytes: either way it cannot carry the next exchange).
  std::unique_ptr<Connection> take_idle() {
    for (;;) {
      std::unique_ptr<Connection> conn;
      {
        std::lock_guard lock(mutex_);
        if (idle_.empty()) return nullptr;
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
      pollfd p{};
      p.fd = conn->lowest().socket().native_handle();
      p.events = POLLIN;
      if (::poll(&p, 1, 0) == 0) return conn;
    }
  }

  /// Runs the connection's io_context until the started operation completes (the tcp_stream's
  /// deadline guarantees it does).
  static void run(Connection& conn) {
    conn.ioc.restart();
    conn.ioc.run();
  }

  std::expected<void, std::string> connect(Connection& conn, Clock::time_point deadline) {
    error_code ec;
    std::vector<tcp::endpoint> endpoints;
    if (target_.host_is_ip) {
      const auto address = net::ip::make_address(target_.host, ec);
      if (ec) return std::unexpected("the upstream host is not an IP address");
      endpoints.emplace_back(address, static_cast<std::uint16_t>(std::stoul(target_.port)));
    } else {
      // Blocking name resolution, bounded by the system resolver's own timeouts.
      tcp::resolver resolver(conn.ioc);
      const auto results = resolver.resolve(target_.host, target_.port, ec);
      if (ec) return std::unexpected("cannot resolve the upstream host: " + ec.message());
      for (const auto& r : results) endpoints.push_back(r.endpoint());
    }

    if (ssl_) {
      conn.tls = std::make_unique<TlsStream>(conn.ioc, *ssl_);
    } else {
      conn.plain = std::make_unique<beast::tcp_stream>(conn.ioc);
    }
    auto& lowest = conn.lowest();
    lowest.expires_at(deadline);
    bool done = false;
    lowest.async_connect(endpoints, [&](const error_code& e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    run(conn);
    if (!done || ec == beast::error::timeout) return std::unexpected(timeout_error("connecting to"));
    if (ec) return std::unexpected("connect to the upstream failed: " + ec.message());
    lowest.socket().set_option(tcp::no_delay(true), ec);

    if (conn.tls) {
      SSL* ssl = conn.tls->native_handle();
      if (target_.host_is_ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str()) != 1) {
          return std::unexpected("cannot set up verification of the upstream's IP address");
        }
      } else if (  // SSL_set_tlsext_host_name without its C cast: SNI
          SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(target_.host.c_str())) != 1 || SSL_set1_host(ssl, target_.host.c_str()) != 1) {
        return std::unexpected("cannot set up verification of the upstream's host name");
      }
      done = false;
      conn.tls->async_handshake(net::ssl::stream_base::client, [&](const error_code& e) {
        ec = e;
        done = true;
      });
      run(conn);
      if (!done || ec == beast::error::timeout) return std::unexpected(timeout_error("in the TLS handshake with"));
      if (ec) return std::unexpected("TLS handshake with the upstream failed: " + ec.message());
    }
    return {};
  }

  Outcome exchange(Connection& conn, bhttp::request<bhttp::string_body>& req, Clock::time_point deadline) {
    if (conn.tls) return exchange_on(*conn.tls, conn, req, deadline);
    return exchange_on(*conn.plain, conn, req, deadline);
  }

  template <class Stream>
  Outcome exchange_on(Stream& stream, Connection& conn, bhttp::request<bhttp::string_body>& req,
                      Clock::time_point deadline) {
    Outcome out{std::unexpected(std::string()), false, false};
    auto& lowest = conn.lowest();
    if (Clock::now() >= deadline) {
      out.result = std::unexpected(timeout_error("before sending to"));
      return out;
    }
    lowest.expires_at(deadline);

    error_code ec;
    bool done = false;
    bhttp::async_write(stream, req, [&](const error_code& e, std::size_t) {
      ec = e;
      done = true;
    });
    run(conn);
    if (!done || ec == beast::error::timeout) {
      out.result = std::unexpected(timeout_error("sending to"));
      return out;
    }
    if (ec) {
      out.retry_fresh = is_stale_error(ec);
      out.result = std::unexpected("sending to the upstream failed: " + ec.message());
      return out;
    }

    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(kMaxResponseHeader);
    parser.body_limit(static_cast<std::uint64_t>(options_.max_response_bytes));
    // Header first, then the body: Beast 1.74's eager parse (what async_read does) forgets the
    // body_limit error of a Content-Length that is too large when body bytes follow in the same
    // buffer, so the declared length is checked here as well.
    done = false;
    bhttp::async_read_header(stream, conn.buffer, parser, [&](const error_code& e, std::size_t) {
      ec = e;
      done = true;
    });
    run(conn);
    if (done && !ec) {
      const auto length = parser.content_length();
      if (length && *length > options_.max_response_bytes) ec = bhttp::error::body_limit;
    }
    if (done && !ec && !parser.is_done()) {
      done = false;
      bhttp::async_read(stream, conn.buffer, parser, [&](const error_code& e, std::size_t) {
        ec = e;
        done = true;
      });
      run(conn);
    }
    if (!done || ec == beast::error::timeout) {
      out.result = std::unexpected(timeout_error("waiting for the response of"));
      return out;
    }
    if (ec) {
      out.retry_fresh = is_stale_error(ec) && !parser.got_some() && conn.buffer.size() == 0;
      if (ec == bhttp::error::body_limit) {
        out.result = std::unexpected("the upstream's response exceeds " + std::to_string(options_.max_response_bytes) + " bytes");
      } else {
        out.result = std::unexpected("reading the upstream's response failed: " + ec.message());
      }
      return out;
    }
    auto res = parser.release();
    out.reusable = res.keep_alive() && !parser.need_eof();
    const unsigned status = res.result_int();
    if (status < 200 || status > 299) {
      out.result = std::unexpected("upstream answered HTTP " + std::to_string(status) + ": " + quote_body(res.body()));
      return out;
    }
    out.result = std::move(res.body());
    return out;
  }

  const std::string url_;
  const Target target_;
  const ClientOptions options_;
  std::optional<net::ssl::context> ssl_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

std::expected<std::unique_ptr<Client>, std::string> Client::create(const std::string& url,
                                                                   std::chrono::milliseconds timeout) {
  ClientOptions options;
  options.timeout = timeout;
  return create(url, options);
}

std::expected<std::unique_ptr<Client>, std::string> Client::create(const std::string& url,
                                                                   const ClientOptions& options) {
  try {
    if (options.timeout <= std::chrono::milliseconds{0}) return std::unexpected("upstream timeout must be positive");
    auto target = parse_url(url);
    if (!target) return std::unexpected(target.error());
    auto impl = std::make_unique<Impl>(url, std::move(*target), options);
    if (auto ok = impl->init_tls(); !ok) return std::unexpected(ok.error());
    return std::unique_ptr<Client>(new Client(std::move(impl)));
  } catch (const std::exception& e) {
    return std::unexpected(std::string("cannot create the upstream client: ") + e.what());
  }
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;
std::expected<std::string, std::string> Client::post_json(const std::string& body) { return impl_->post_json(body); }
const std::string& Client::url() const noexcept { return impl_->url(); }

}  // namespace txguard::http
