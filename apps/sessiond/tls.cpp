// tls.cpp — see tls.h.
#include "tls.h"

#include <openssl/ssl.h>

#include <stdexcept>

namespace sessiond {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_tls_context(const TlsFiles& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  auto use = [](const std::string& what, const std::string& file, auto&& step) {
    boost::system::error_code ec;
    step(ec);
    if (ec) throw std::runtime_error(what + " " + file + ": " + ec.message());
  };
  use("--tls-cert", files.cert,
      [&](boost::system::error_code& ec) { ctx->use_certificate_chain_file(files.cert, ec); });
  use("--tls-key", files.key, [&](boost::system::error_code& ec) {
    ctx->use_private_key_file(files.key, ssl::context::pem, ec);
  });
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    throw std::runtime_error("--tls-key " + files.key + ": does not match --tls-cert");
  }
  if (!files.client_ca.empty()) {
    use("--tls-client-ca", files.client_ca,
        [&](boost::system::error_code& ec) { ctx->load_verify_file(files.client_ca, ec); });
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

}  // namespace sessiond
