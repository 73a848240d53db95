// A raw HTTP test connection to a server on 127.0.0.1: send exact bytes (malformed, pipelined, half a
// header), read one response with a deadline, or observe the server closing the connection. Plain
// TCP or TLS (with an optional client certificate). Every wait is bounded; nothing throws.
// Header-only; for tests of guard/http and guard/service.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace txguard::test {

struct RawResponse {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-cased names (last value wins)
  bool keep_alive = false;
  std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct RawTlsOptions {
  std::string ca_file;                  ///< the CA that must have signed the server's certificate
  std::optional<std::string> cert_file;  ///< client certificate (mTLS)
  std::optional<std::string> key_file;
};

class RawConnection {
  using tcp = boost::asio::ip::tcp;
  using error_code = boost::system::error_code;
  using ms = std::chrono::milliseconds;

 public:
  /// Connects over plain TCP; nullptr when the connection is refused. `from`: the local address to
  /// connect from (any of 127.0.0.0/8, to look like another client), default the system's choice.
  static std::unique_ptr<RawConnection> connect(std::uint16_t port, const std::string& from = "") {
    auto c = std::unique_ptr<RawConnection>(new RawConnection());
    c->socket_.emplace(c->ioc_);
    if (!c->connect_lowest(*c->socket_, port, from)) return nullptr;
    return c;
  }

  /// Connects and completes a TLS handshake; nullptr when refused or when the handshake fails
  /// (the reason is in *error when given).
  static std::unique_ptr<RawConnection> connect_tls(std::uint16_t port, const RawTlsOptions& options,
                                                    std::string* error = nullptr) {
    auto c = std::unique_ptr<RawConnection>(new RawConnection());
    c->ssl_ctx_.emplace(boost::asio::ssl::context::tls_client);
    SSL_CTX* ctx = c->ssl_ctx_->native_handle();
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
      if (error) *error = "cannot load " + options.ca_file;
      return nullptr;
    }
    if (options.cert_file && options.key_file) {
      if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file->c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx, options.key_file->c_str(), SSL_FILETYPE_PEM) != 1) {
        if (error) *error = "cannot load " + *options.cert_file;
        return nullptr;
      }
    }
    c->tls_.emplace(c->ioc_, *c->ssl_ctx_);
    if (!c->connect_lowest(c->tls_->next_layer(), port)) {
      if (error) *error = "connection refused";
      return nullptr;
    }
    error_code ec;
    bool done = false;
    c->tls_->async_handshake(boost::asio::ssl::stream_base::client, [&](const error_code& e) {
      ec = e;
      done = true;
    });
    if (!c->run(ms{3000}, done) || ec) {
      if (error) *error = done ? ec.message() : "handshake timeout";
      return nullptr;
    }
    // With TLS 1.3 the server's verdict on a client certificate arrives after the client's side of
    // the handshake is done: a refused certificate shows as a failed first read, not here.
    return c;
  }

  /// Writes all of `bytes`; false on error or after `timeout`.
  bool send(std::string_view bytes, ms timeout = ms{2000}) {
    error_code ec;
    bool done = false;
    with_stream([&](auto& s) {
      boost::asio::async_write(s, boost::asio::buffer(bytes.data(), bytes.size()), [&](const error_code& e, std::size_t) {
        ec = e;
        done = true;
      });
    });
    return run(timeout, done) && !ec;
  }

  /// Reads one response; nullopt on close, error or after `timeout` (see last_error()). `head`: the
  /// response to a HEAD request (no body whatever its Content-Length says).
  std::optional<RawResponse> read_response(ms timeout = ms{2000}, bool head = false) {
    namespace http = boost::beast::http;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    parser.skip(head);
    error_code ec;
    bool done = false;
    with_stream([&](auto& s) {
      http::async_read(s, buffer_, parser, [&](const error_code& e, std::size_t) {
        ec = e;
        done = true;
      });
    });
    if (!run(timeout, done)) {
      last_error_ = "timeout";
      return std::nullopt;
    }
    if (ec) {
      last_error_ = ec.message();
      return std::nullopt;
    }
    auto msg = parser.release();
    RawResponse r;
    r.status = msg.result_int();
    r.body = msg.body();
    r.keep_alive = msg.keep_alive();
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (char& ch : name) {
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      }
      r.headers[name] = std::string(f.value());
    }
    return r;
  }

  /// Sends `bytes` and reads the response.
  std::optional<RawResponse> request(std::string_view bytes, ms timeout = ms{2000}) {
    if (!send(bytes, timeout)) return std::nullopt;
    return read_response(timeout);
  }

  /// True when the server closes the connection (EOF, reset or TLS error) within `timeout`; bytes
  /// that arrive meanwhile are appended to received().
  bool closed_within(ms timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Bytes of a response already buffered by an earlier read count as received.
    received_.append(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    for (;;) {
      const auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now());
      if (left <= ms{0}) return false;
      std::array<char, 4096> chunk{};
      error_code ec;
      std::size_t n = 0;
      bool done = false;
      with_stream([&](auto& s) {
        s.async_read_some(boost::asio::buffer(chunk), [&](const error_code& e, std::size_t got) {
          ec = e;
          n = got;
          done = true;
        });
      });
      if (!run(left, done)) return false;
      received_.append(chunk.data(), n);
      if (ec) return true;
    }
  }

  const std::string& received() const { return received_; }
  const std::string& last_error() const { return last_error_; }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }

 private:
  RawConnection() = default;

  bool connect_lowest(tcp::socket& socket, std::uint16_t port, const std::string& from = "") {
    error_code ec;
    if (!from.empty()) {
      socket.open(tcp::v4(), ec);
      if (!ec) socket.bind(tcp::endpoint(boost::asio::ip::make_address(from, ec), 0), ec);
      if (ec) return false;
    }
    socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return false;
    socket.set_option(tcp::no_delay(true), ec);  // small writes go out as written
    return true;
  }

  template <class F>
  void with_stream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*socket_);
    }
  }

  tcp::socket& lowest() { return tls_ ? tls_->next_layer() : *socket_; }

  /// Runs until `done` or `timeout`; on timeout the operation is cancelled (and drained) and false
  /// is returned.
  bool run(ms timeout, const bool& done) {
    ioc_.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      ioc_.run_one_until(deadline);
    }
    if (done) return true;
    error_code ignored;
    lowest().cancel(ignored);
    ioc_.restart();
    while (!done) {
      if (ioc_.run_one_for(ms{1000}) == 0) {
        lowest().close(ignored);
      }
    }
    return false;
  }

  boost::asio::io_context ioc_;
  std::optional<boost::asio::ssl::context> ssl_ctx_;
  std::optional<tcp::socket> socket_;
  std::optional<boost::asio::ssl::stream<tcp::socket>> tls_;
  boost::beast::flat_buffer buffer_;
  std::string received_;
  std::string last_error_;
};

}  // namespace txguard::test
