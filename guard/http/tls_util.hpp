// OpenSSL helpers shared by the HTTP server and client. Internal to guard/http.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include "guard/http/server.hpp"

namespace txguard::http::detail {

/// The reasons on this thread's OpenSSL error queue, "; "-separated, and clears the queue.
/// "unknown error" when the queue is empty.
std::string openssl_error();

/// Succeeds when `path` names a regular file this process can open for reading; otherwise an error
/// "<what> <path>: <why>" (missing, a directory, permission denied, ...).
std::expected<void, std::string> check_readable(const std::string& path, std::string_view what);

/// The peer's certificate after a handshake, when it presented one and it verified.
std::optional<ClientCertificate> verified_peer_certificate(SSL* ssl);

}  // namespace txguard::http::detail
