// tls.h — sessiond's TLS server context (private to sessiond): `--tls-cert`/`--tls-key` serve
// HTTPS (TLS 1.2 and 1.3 only), and `--tls-client-ca` makes it mutual: a client must present a
// certificate that CA issued, or the handshake fails before any HTTP is read.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace sessiond {

struct TlsFiles {
  std::string cert;       // PEM certificate chain (the server's first)
  std::string key;        // PEM private key
  std::string client_ca;  // PEM CA bundle for client certificates; empty: no client certificate
};

// The server context; throws std::runtime_error naming the file that cannot be used.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsFiles& files);

}  // namespace sessiond
