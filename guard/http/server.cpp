// The HTTP/1.1 server (contract in server.hpp). The shape follows Beast's advanced_server_flex
// example: one session object per connection whose asynchronous operations all run on one strand,
// a request_parser per request with header_limit and body_limit, a flat_buffer with a maximum size.
// It differs where the example is too trusting for a signing service:
//  - One deadline timer per session instead of tcp_stream's expiry, so that a header or body that
//    does not arrive in time can still be answered with 408 (tcp_stream closes the socket on expiry),
//    and so that idle, header, body, response and write time are bounded separately (slowloris).
//  - The handler answers through a Respond callback that may run on any thread at any time. It holds
//    only a weak reference to the session and a sequence number, and posts to the session's strand,
//    so a late, duplicate or post-shutdown answer is dropped instead of touching freed memory.
//  - Requests whose framing could be read two ways are refused (RFC 9112 section 6.1: a
//    Transfer-Encoding other than a final chunked; Beast already refuses Content-Length with
//    chunked and conflicting Content-Lengths), so no request can be smuggled behind another.
#include "guard/http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "guard/http/tls_util.hpp"

namespace txguard::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::string peer_address_key(std::string_view peer) {
  std::string_view host = peer;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    host = close == std::string_view::npos ? host : host.substr(1, close - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos && host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  error_code ec;
  const auto address = net::ip::make_address(std::string(host), ec);
  if (ec) return std::string(peer);
  if (address.is_v4()) return address.to_string();
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
  // The /64: the first eight bytes, the rest zero.
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), static_cast<unsigned char>(0));
  return net::ip::make_address_v6(bytes).to_string() + "/64";
}

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

namespace {

/// How long a connection that is being closed after an error may take to read our last bytes (the
/// peer's unread data is drained meanwhile so that closing does not reset the connection before the
/// client has read the error response).
constexpr std::chrono::milliseconds kLinger{1000};
/// Accept failures such as EMFILE are retried after this pause instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetry{50};
/// While the server stops, lingering is cut short: the grace period is for requests, not for
/// clients that are slow to close.
constexpr std::chrono::milliseconds kStopLinger{100};
/// After the grace period, force-closed sessions get this long to unwind before the threads stop.
constexpr std::chrono::milliseconds kForceCloseWait{1000};

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      std::array<char, 8> esc{};
      std::snprintf(esc.data(), esc.size(), "\\u%04x", static_cast<unsigned>(u));
      out += esc.data();
    } else {
      out += c;
    }
  }
  return out;
}

Response error_response(unsigned status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.body = R"({"error":{"code":")" + json_escape(code) + R"(","message":")" + json_escape(message) + "\"}}";
  return r;
}

bool is_token_char(char c) {
  // RFC 9110 section 5.6.2 tchar.
  const auto u = static_cast<unsigned char>(c);
  if (u >= '0' && u <= '9') return true;
  if ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

bool is_safe_value(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return a.size() == b.size() && lower(a) == lower(b); }

std::string format_peer(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  /// Posted by Server::stop: close if idle, else finish the current request and close.
  virtual void begin_stop() = 0;
  /// Posted after the grace period: close now.
  virtual void force_close() = 0;
  /// Closes the socket directly; only once the I/O threads have been joined.
  virtual void close_after_join() = 0;
};

/// State shared by the server, its sessions and every Respond callback; it outlives all of them.
struct Shared {
  Shared(Handler& h, const ServerOptions& o) : handler(h), options(o) {}
  Handler& handler;
  const ServerOptions options;
  std::optional<net::ssl::context> ssl;

  std::mutex mutex;  // guards the registry and the counters below
  std::condition_variable closed;
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;
  std::unordered_map<std::uint64_t, std::string> address_of;     // session id -> peer_address_key
  std::unordered_map<std::string, std::size_t> per_address;      // peer_address_key -> open connections
  std::uint64_t next_id = 0;
  bool stopping = false;

  /// Frees a session's slots (global and per address). Called with `mutex` held.
  void release_locked(std::uint64_t id) {
    sessions.erase(id);
    if (const auto it = address_of.find(id); it != address_of.end()) {
      if (const auto n = per_address.find(it->second); n != per_address.end() && --n->second == 0) per_address.erase(n);
      address_of.erase(it);
    }
    closed.notify_all();
  }

  // Respond callbacks post to a session's strand only while `alive`: once the I/O threads are
  // joined, posting would queue work into an io_context that may be about to be destroyed.
  std::mutex respond_mutex;
  bool alive = true;
};

/// One connection. Stream is tcp::socket or ssl::stream<tcp::socket>. All members are touched only
/// on the connection's strand (the socket's executor), except in close_after_join.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  enum class Phase { kHandshake, kIdle, kHeader, kBody, kAwaiting, kWriting, kClosing, kClosed };

 public:
  template <class... Args>
  Session(std::shared_ptr<Shared> shared, std::uint64_t id, std::string peer, Args&&... stream_args)
      : shared_(std::move(shared)),
        id_(id),
        peer_(std::move(peer)),
        stream_(std::forward<Args>(stream_args)...),
        timer_(stream_.get_executor()),
        buffer_(shared_->options.max_header_bytes + 4096) {}

  ~Session() override {
    std::lock_guard lock(shared_->mutex);
    shared_->release_locked(id_);
  }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->do_handshake();
      } else {
        self->read_header();
      }
    });
  }

  void begin_stop() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->stop_requested_ = true;
      // Nothing of a request has arrived yet: there is nothing in flight to finish.
      if (self->phase_ == Phase::kHandshake || self->phase_ == Phase::kIdle ||
          (self->phase_ == Phase::kHeader && self->buffer_.size() == 0 && (!self->parser_ || !self->parser_->got_some()))) {
        self->close();
      }
    });
  }

  void force_close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
  }

  void close_after_join() override { close(); }

  /// The handler's answer to request number `seq`, on the strand.
  void deliver(std::uint64_t seq, Response response) {
    if (phase_ != Phase::kAwaiting || seq != seq_) return;
    write_response(std::move(response), keep_alive_);
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  tcp::socket& socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  // --- deadlines -------------------------------------------------------------------------------

  void arm(std::chrono::milliseconds timeout) {
    const std::uint64_t gen = ++timer_gen_;
    timed_out_ = false;
    timer_.expires_after(timeout);
    timer_.async_wait([self = this->shared_from_this(), gen](const error_code& ec) { self->on_timer(ec, gen); });
  }

  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  void on_timer(const error_code& ec, std::uint64_t gen) {
    if (ec == net::error::operation_aborted || gen != timer_gen_ || phase_ == Phase::kClosed) return;
    timed_out_ = true;
    switch (phase_) {
      case Phase::kHeader:
      case Phase::kBody: {
        // Cancel the read; its handler answers 408 while the connection can still carry it.
        error_code ignored;
        socket().cancel(ignored);
        break;
      }
      case Phase::kAwaiting: {
        const auto ms = shared_->options.response_timeout.count();
        write_response(error_response(503, "timeout", "no response within " + std::to_string(ms) + " ms"),
                       keep_alive_);
        break;
      }
      default:
        close();
        break;
    }
  }

  // --- reading ---------------------------------------------------------------------------------

  void do_handshake() {
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      arm(shared_->options.header_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
    }
  }

  void on_handshake(const error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    disarm();
    if (ec || timed_out_) {
      close();
      return;
    }
    if constexpr (kTls) client_cert_ = detail::verified_peer_certificate(stream_.native_handle());
    read_header();
  }

  void new_parser() {
    parser_.emplace();
    version_ = 11;
    head_ = false;
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.max_header_bytes));
    // The body limit is applied once the handler has judged the header (on_header): a request it
    // refuses is answered for what it is (401), not for the size its header claims.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  /// The next request: its header must arrive within header_timeout.
  void read_header() {
    new_parser();
    phase_ = Phase::kHeader;
    arm(shared_->options.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_, [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
      self->on_header(ec, n);
    });
  }

  /// Between keep-alive requests: wait up to idle_timeout for the first byte of the next one.
  void read_idle() {
    if (stop_requested_ && buffer_.size() == 0) {
      close();  // the last response is out and nothing else was asked: nothing to drain
      return;
    }
    if (buffer_.size() > 0) {  // pipelined: the next request is already here
      read_header();
      return;
    }
    new_parser();
    phase_ = Phase::kIdle;
    arm(shared_->options.idle_timeout);
    const std::size_t n = std::min<std::size_t>(4096, buffer_.max_size() - buffer_.size());
    stream_.async_read_some(buffer_.prepare(n), [self = this->shared_from_this()](const error_code& ec, std::size_t got) {
      if (self->phase_ == Phase::kClosed) return;
      self->disarm();
      if (ec || self->timed_out_) {
        self->close();
        return;
      }
      self->buffer_.commit(got);
      self->read_header();
    });
  }

  void on_header(const error_code& ec, std::size_t header_bytes) {
    if (phase_ == Phase::kClosed) return;
    disarm();
    if (ec || timed_out_) {
      on_read_error(ec);
      return;
    }
    // Beast's header_limit applies to the request line and to the fields separately, so the
    // header may be up to twice the limit; the bytes consumed are the header's exact size.
    if (header_bytes > shared_->options.max_header_bytes) {
      on_read_error(bhttp::error::header_limit);
      return;
    }
    const auto& msg = parser_->get();
    head_ = msg.method() == bhttp::verb::head;
    if (msg.version() == 10) version_ = 10;
    if (msg.version() != 10 && msg.version() != 11) {
      write_error(400, "bad-request", "unsupported HTTP version (1.0 and 1.1 are served)");
      return;
    }
    // RFC 9112 section 6.1: a request whose Transfer-Encoding is not a final chunked cannot be framed.
    if (msg.find(bhttp::field::transfer_encoding) != msg.end() && !parser_->chunked()) {
      write_error(400, "bad-request", "unsupported Transfer-Encoding (only chunked is accepted)");
      return;
    }
    // The handler judges the header before any of the body is read (e.g. 401 without a token).
    std::optional<Response> early;
    try {
      early = shared_->handler.authorize_header(request_of(msg));
    } catch (...) {
      early = error_response(500, "internal", "internal error");
    }
    if (early) {
      // Without its body read the connection cannot carry another request: close after answering.
      write_response(std::move(*early), parser_->is_done() && msg.keep_alive());
      return;
    }
    if (parser_->is_done()) {
      on_request();
      return;
    }
    const std::uint64_t max_body = shared_->options.max_body_bytes;
    if (const auto length = parser_->content_length(); length && *length > max_body) {
      on_read_error(bhttp::error::body_limit);
      return;
    }
    parser_->body_limit(max_body);
    phase_ = Phase::kBody;
    arm(shared_->options.body_timeout);
    const auto expect = msg.find(bhttp::field::expect);
    if (expect != msg.end() && msg.version() == 11 && iequals(expect->value(), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this()](const error_code& wec, std::size_t) {
                         if (self->phase_ == Phase::kClosed) return;
                         if (wec || self->timed_out_) {
                           self->disarm();
                           self->on_read_error(wec);
                           return;
                         }
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](const error_code& ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(const error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    disarm();
    if (ec || timed_out_) {
      on_read_error(ec);
      return;
    }
    on_request();
  }

  void on_read_error(const error_code& ec) {
    const auto& opts = shared_->options;
    if (timed_out_) {
      const bool header = phase_ == Phase::kHeader;
      if (header && buffer_.size() == 0 && !parser_->got_some()) {
        close();  // nothing of a request arrived: nobody to tell
        return;
      }
      const auto ms = (header ? opts.header_timeout : opts.body_timeout).count();
      write_error(408, "timeout",
                  std::string(header ? "request header" : "request body") + " not received within " +
                      std::to_string(ms) + " ms");
      return;
    }
    if (ec == bhttp::error::body_limit) {
      write_error(413, "body-too-large", "request body exceeds " + std::to_string(opts.max_body_bytes) + " bytes");
    } else if (ec == bhttp::error::header_limit ||
               (ec == bhttp::error::buffer_overflow && !parser_->is_header_done())) {
      write_error(431, "header-too-large",
                  "request header exceeds " + std::to_string(opts.max_header_bytes) + " bytes");
    } else if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
      close();  // the client went away (mid-request or between requests)
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::body_limit).category()) {  // any other parse error
      write_error(400, "bad-request", "malformed HTTP request: " + ec.message());
    } else {
      close();  // transport error (reset, TLS failure, cancelled by stop)
    }
  }

  // --- the handler -----------------------------------------------------------------------------

  /// The request as the handler sees it, without its body.
  Request request_of(const bhttp::request<bhttp::string_body>& msg) const {
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg) req.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    req.peer = peer_;
    req.tls = kTls;
    req.client_cert = client_cert_;
    req.version = msg.version();
    return req;
  }

  void on_request() {
    auto msg = parser_->release();
    Request req = request_of(msg);
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();

    const std::uint64_t seq = ++seq_;
    phase_ = Phase::kAwaiting;
    arm(shared_->options.response_timeout);

    auto used = std::make_shared<std::atomic<bool>>(false);
    Respond respond = [shared = shared_, weak = this->weak_from_this(), seq, used](Response response) {
      if (used->exchange(true)) return;
      std::lock_guard lock(shared->respond_mutex);
      if (!shared->alive) return;
      if (auto self = weak.lock()) {
        net::post(self->executor(), [self, seq, r = std::move(response)]() mutable { self->deliver(seq, std::move(r)); });
      }
    };
    try {
      shared_->handler.handle(std::move(req), std::move(respond));
    } catch (...) {
      // The handler failed before answering; an answer it gave before throwing stands.
      if (!used->exchange(true)) deliver(seq, error_response(500, "internal", "internal error"));
    }
  }

  // --- writing ---------------------------------------------------------------------------------

  void write_error(unsigned status, std::string_view code, std::string_view message) {
    write_response(error_response(status, code, message), false);
  }

  void write_response(Response response, bool keep_alive) {
    disarm();
    const bool keep = keep_alive && !stop_requested_;
    try {
      if (response.status < 200 || response.status > 599) response = error_response(500, "internal", "internal error");
      res_.emplace();
      res_->version(version_);
      res_->result(response.status);
      res_->set(bhttp::field::server, "txguard");
      if (is_safe_value(response.content_type)) res_->set(bhttp::field::content_type, response.content_type);
      for (const auto& [name, value] : response.headers) {
        if (!is_token(name) || !is_safe_value(value)) continue;
        const auto f = bhttp::string_to_field(name);
        if (f == bhttp::field::content_length || f == bhttp::field::transfer_encoding ||
            f == bhttp::field::connection || f == bhttp::field::server || f == bhttp::field::keep_alive) {
          continue;
        }
        res_->insert(name, value);
      }
      res_->keep_alive(keep);
      if (response.status == 204 || response.status == 304) {
        // RFC 9110 sections 15.3.5 and 15.4.5: no content, and no Content-Length to announce any.
        res_->body().clear();
      } else if (head_) {
        // RFC 9110 section 9.3.2: the length a GET would have had, and no content.
        res_->content_length(response.body.size());
      } else {
        res_->body() = std::move(response.body);
        res_->prepare_payload();
      }
    } catch (...) {
      close();
      return;
    }
    close_after_write_ = !keep;
    phase_ = Phase::kWriting;
    arm(shared_->options.write_timeout);
    bhttp::async_write(stream_, *res_, [self = this->shared_from_this()](const error_code& ec, std::size_t) {
      if (self->phase_ == Phase::kClosed) return;
      self->disarm();
      self->res_.reset();
      if (ec || self->timed_out_) {
        self->close();
      } else if (self->close_after_write_) {
        self->close_gracefully();
      } else {
        self->read_idle();
      }
    });
  }

  // --- closing ---------------------------------------------------------------------------------

  /// Close after the last response: TLS close_notify, or half-close and drain, within kLinger.
  void close_gracefully() {
    phase_ = Phase::kClosing;
    arm(std::min(stop_requested_ ? kStopLinger : kLinger, shared_->options.write_timeout));
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](const error_code&) { self->close(); });
    } else {
      error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      drain();
    }
  }

  void drain() {
    socket().async_read_some(net::buffer(drain_), [self = this->shared_from_this()](const error_code& ec, std::size_t) {
      if (self->phase_ == Phase::kClosed) return;
      if (ec) {
        self->close();
      } else {
        self->drain();
      }
    });
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    ++timer_gen_;
    timer_.cancel();
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  std::shared_ptr<Shared> shared_;
  const std::uint64_t id_;
  const std::string peer_;
  Stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  std::optional<ClientCertificate> client_cert_;
  std::array<char, 4096> drain_{};
  Phase phase_ = Phase::kHeader;
  std::uint64_t timer_gen_ = 0;
  bool timed_out_ = false;
  std::uint64_t seq_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool close_after_write_ = false;
  bool stop_requested_ = false;
};

using PlainSession = Session<tcp::socket>;
using TlsSession = Session<net::ssl::stream<tcp::socket>>;

/// Loads the certificate chain, key and client CAs into a TLS 1.2+ server context.
std::expected<void, std::string> configure_tls(net::ssl::context& ctx, const TlsOptions& tls) {
  SSL_CTX* c = ctx.native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: forward-secret AEAD suites only (TLS 1.3 suites are all of that kind already).
  if (SSL_CTX_set_cipher_list(c, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL") != 1) {
    return std::unexpected("TLS: cannot set the cipher list: " + detail::openssl_error());
  }
  static constexpr unsigned char kSessionContext[] = "txguard";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);

  if (auto readable = detail::check_readable(tls.cert_file, "TLS certificate file"); !readable) return readable;
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(c, tls.cert_file.c_str()) != 1) {
    return std::unexpected("TLS certificate file " + tls.cert_file + ": not a PEM certificate chain (" +
                           detail::openssl_error() + ")");
  }
  if (auto readable = detail::check_readable(tls.key_file, "TLS key file"); !readable) return readable;
  ERR_clear_error();
  if (SSL_CTX_use_PrivateKey_file(c, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return std::unexpected("TLS key file " + tls.key_file + ": not a usable PEM private key for certificate " +
                           tls.cert_file + " (" + detail::openssl_error() + ")");
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return std::unexpected("TLS key file " + tls.key_file + ": does not match the certificate in " + tls.cert_file);
  }
  if (tls.require_client_cert && !tls.client_ca_file) {
    return std::unexpected("TLS: require_client_cert needs a client CA file to verify client certificates against");
  }
  if (tls.client_ca_file) {
    const std::string& ca = *tls.client_ca_file;
    if (auto readable = detail::check_readable(ca, "TLS client CA file"); !readable) return readable;
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(c, ca.c_str(), nullptr) != 1) {
      return std::unexpected("TLS client CA file " + ca + ": no PEM CA certificate in it (" + detail::openssl_error() + ")");
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str());
    if (names == nullptr) {
      return std::unexpected("TLS client CA file " + ca + ": no CA subject names in it (" + detail::openssl_error() + ")");
    }
    SSL_CTX_set_client_CA_list(c, names);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | (tls.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), nullptr);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }
  ERR_clear_error();
  return {};
}

}  // namespace

class Server::Impl {
 public:
  Impl(std::shared_ptr<Shared> shared, std::size_t threads)
      : shared_(std::move(shared)),
        ioc_(static_cast<int>(threads)),
        work_(net::make_work_guard(ioc_)),
        acceptor_(net::make_strand(ioc_)),
        accept_retry_(acceptor_.get_executor()) {}

  ~Impl() { stop(std::chrono::milliseconds{0}); }

  std::expected<void, std::string> listen(const ServerOptions& options) {
    error_code ec;
    const auto address = net::ip::make_address(options.host, ec);
    if (ec) return std::unexpected("listen address " + options.host + ": not an IP address");
    const tcp::endpoint endpoint(address, options.port);
    const std::string where = format_peer(endpoint);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) port_ = acceptor_.local_endpoint(ec).port();
    if (ec) return std::unexpected("cannot listen on " + where + ": " + ec.message());
    return {};
  }

  void run(std::size_t threads) {
    net::post(acceptor_.get_executor(), [this] { accept(); });
    threads_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        for (;;) {
          try {
            ioc_.run();
            return;
          } catch (...) {  // a handler bug must not take the process down; keep serving
          }
        }
      });
    }
  }

  std::uint16_t port() const noexcept { return port_; }
  bool tls() const noexcept { return shared_->ssl.has_value(); }

  std::size_t connections() const noexcept {
    std::lock_guard lock(shared_->mutex);
    return shared_->sessions.size();
  }

  void stop(std::chrono::milliseconds grace) {
    std::lock_guard stop_lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;

    // 1. Refuse new connections: close the listening socket on its strand and wait until it is.
    if (!threads_.empty()) {
      std::promise<void> closed;
      auto done = closed.get_future();
      net::post(acceptor_.get_executor(), [this, &closed] {
        error_code ignored;
        acceptor_.close(ignored);
        accept_retry_.cancel();
        closed.set_value();
      });
      done.wait();
    }

    // 2. Idle connections close; in-flight requests finish and are answered with Connection: close.
    for (const auto& s : snapshot(true)) s->begin_stop();
    wait_closed(grace);

    // 3. Whatever is left is closed now.
    for (const auto& s : snapshot(false)) s->force_close();
    wait_closed(kForceCloseWait);

    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    {
      std::lock_guard lock(shared_->respond_mutex);
      shared_->alive = false;
    }
    error_code ignored;
    acceptor_.close(ignored);
    for (const auto& s : snapshot(false)) s->close_after_join();
  }

 private:
  std::vector<std::shared_ptr<SessionBase>> snapshot(bool mark_stopping) {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard lock(shared_->mutex);
    if (mark_stopping) shared_->stopping = true;
    out.reserve(shared_->sessions.size());
    for (const auto& [id, weak] : shared_->sessions) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  void wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(shared_->mutex);
    shared_->closed.wait_for(lock, timeout, [this] { return shared_->sessions.empty(); });
  }

  void accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](const error_code& ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {  // EMFILE, ENOBUFS, ...: pause rather than spin
        accept_retry_.expires_after(kAcceptRetry);
        accept_retry_.async_wait([this](const error_code& wec) {
          if (!wec && acceptor_.is_open()) accept();
        });
        return;
      }
      try {
        admit(std::move(socket));
      } catch (...) {  // out of memory for one connection: drop it, keep accepting
      }
      accept();
    });
  }

  void admit(tcp::socket socket) {
    error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    socket.set_option(tcp::no_delay(true), ec);

    const std::string peer = format_peer(remote);
    std::string address = peer_address_key(peer);
    std::uint64_t id = 0;
    bool per_address_full = false;
    {
      std::lock_guard lock(shared_->mutex);
      if (shared_->stopping) return;
      const auto from_here = shared_->per_address.find(address);
      per_address_full = from_here != shared_->per_address.end() &&
                         from_here->second >= shared_->options.max_connections_per_address;
      if (!per_address_full && shared_->sessions.size() < shared_->options.max_connections) {
        // Reserve the slots now, so that the limits hold however fast connections arrive.
        id = ++shared_->next_id;
        shared_->sessions.emplace(id, std::weak_ptr<SessionBase>());
        ++shared_->per_address[address];
        shared_->address_of.emplace(id, std::move(address));
      }
    }
    if (id == 0) {
      reject(std::move(socket), per_address_full);
      return;
    }
    // Started outside the lock: a session that ends at once unregisters itself under it.
    try {
      if (shared_->ssl) {
        auto s = std::make_shared<TlsSession>(shared_, id, peer, std::move(socket), *shared_->ssl);
        register_session(id, s);
        s->start();
      } else {
        auto s = std::make_shared<PlainSession>(shared_, id, peer, std::move(socket));
        register_session(id, s);
        s->start();
      }
    } catch (...) {
      std::lock_guard lock(shared_->mutex);
      shared_->release_locked(id);
    }
  }

  void register_session(std::uint64_t id, const std::shared_ptr<SessionBase>& session) {
    std::lock_guard lock(shared_->mutex);
    shared_->sessions[id] = session;
  }

  /// Over max_connections or max_connections_per_address: a best-effort 503 on plain HTTP (never
  /// blocking the acceptor), then close.
  void reject(tcp::socket socket, bool per_address) {
    error_code ec;
    if (!shared_->ssl) {
      const auto busy = [](std::string_view message) {
        const std::string body = R"({"error":{"code":"unavailable","message":")" + std::string(message) + "\"}}";
        return "HTTP/1.1 503 Service Unavailable\r\nServer: txguard\r\nContent-Type: application/json\r\n"
               "Connection: close\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
      };
      static const std::string kBusy = busy("too many connections");
      static const std::string kBusyHere = busy("too many connections from this address");
      socket.non_blocking(true, ec);
      if (!ec) socket.write_some(net::buffer(per_address ? kBusyHere : kBusy), ec);
      socket.shutdown(tcp::socket::shutdown_send, ec);
    }
    socket.close(ec);
  }

  std::shared_ptr<Shared> shared_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

std::expected<std::unique_ptr<Server>, std::string> Server::start(const ServerOptions& options, Handler& handler) {
  try {
    if (options.max_header_bytes == 0 || options.max_header_bytes > std::numeric_limits<std::uint32_t>::max()) {
      return std::unexpected("max_header_bytes must be between 1 and 4294967295");
    }
    if (options.max_connections == 0) return std::unexpected("max_connections must be at least 1");
    if (options.max_connections_per_address == 0) return std::unexpected("max_connections_per_address must be at least 1");
    const std::size_t threads = std::max<std::size_t>(options.threads, 1);
    auto shared = std::make_shared<Shared>(handler, options);
    if (options.tls) {
      shared->ssl.emplace(net::ssl::context::tls_server);
      if (auto ok = configure_tls(*shared->ssl, *options.tls); !ok) return std::unexpected(ok.error());
    }
    auto impl = std::make_unique<Impl>(std::move(shared), threads);
    if (auto ok = impl->listen(options); !ok) return std::unexpected(ok.error());
    impl->run(threads);
    return std::unique_ptr<Server>(new Server(std::move(impl)));
  } catch (const std::exception& e) {
    return std::unexpected(std::string("cannot start the HTTP server: ") + e.what());
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;
std::uint16_t Server::port() const noexcept { return impl_->port(); }
bool Server::tls() const noexcept { return impl_->tls(); }
std::size_t Server::connections() const noexcept { return impl_->connections(); }
void Server::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }

}  // namespace txguard::http
