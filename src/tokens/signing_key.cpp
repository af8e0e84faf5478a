// SigningKey: Ed25519 on libsodium, ES256 on OpenSSL 3's EVP interface; JWK text in and out.
//
// JWS wants ES256 signatures as the raw 32-byte r and s (RFC 7518 §3.4); OpenSSL speaks DER, so
// sign and verify convert through ECDSA_SIG. An imported EC key is checked whole (EVP_PKEY_check:
// the point on the curve, d in range, d·G == (x, y)); an Ed25519 key is rebuilt from its seed
// and its "x", if present, must match.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <memory>

#include "crypto/crypto.h"
#include "sessionkit/tokens/signing_keys.h"
#include "tokens/jose.h"

namespace sessionkit::tokens {

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_clear_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using BldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;

using Bytes32 = std::array<std::uint8_t, 32>;

Status invalid(std::string message) {
  return {errc::invalid_argument, "signing key: " + std::move(message)};
}

bool valid_kid(std::string_view kid) {
  if (kid.empty() || kid.size() > 128) return false;
  for (const char c : kid) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// A base64url member of exactly 32 bytes.
std::optional<Bytes32> member32(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  auto raw = jose::b64url_decode(it->get_ref<const std::string&>());
  if (!raw || raw->size() != 32) return std::nullopt;
  Bytes32 out;
  std::memcpy(out.data(), raw->data(), 32);
  sodium_memzero(raw->data(), raw->size());
  return out;
}

bool get32(const EVP_PKEY* pkey, const char* name, Bytes32& out) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return false;
  const BnPtr bn(raw);
  return BN_bn2binpad(bn.get(), out.data(), 32) == 32;
}

}  // namespace

class SigningKey::Impl {
 public:
  Impl(std::string kid, Algorithm alg, Time created)
      : kid(std::move(kid)), alg(alg), created(created) {}
  ~Impl() {
    sodium_memzero(secret.data(), secret.size());
    sodium_memzero(d.data(), d.size());
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::string kid;
  Algorithm alg;
  Time created;
  Bytes32 x{};  // Ed25519: the public key; P-256: the point's x
  Bytes32 y{};  // P-256 only
  Bytes32 d{};  // Ed25519: the seed; P-256: the private scalar
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> secret{};  // Ed25519 only
  PkeyPtr pkey;                                                   // P-256 only
};

const char* to_string(Algorithm alg) noexcept {
  return alg == Algorithm::es256 ? "ES256" : "EdDSA";
}

namespace {

Result<std::shared_ptr<SigningKey::Impl>> ed25519(std::string kid, Time created,
                                                  const Bytes32& seed) {
  auto impl = std::make_shared<SigningKey::Impl>(std::move(kid), Algorithm::eddsa, created);
  impl->d = seed;
  if (crypto_sign_seed_keypair(impl->x.data(), impl->secret.data(), seed.data()) != 0) {
    return Status(errc::unavailable, "signing key: libsodium could not derive the key");
  }
  return impl;
}

// P-256 from its public point and private scalar, checked whole.
Result<std::shared_ptr<SigningKey::Impl>> p256(std::string kid, Time created, const Bytes32& x,
                                               const Bytes32& y, const Bytes32& d) {
  std::array<std::uint8_t, 65> point{};
  point[0] = 0x04;  // uncompressed
  std::memcpy(point.data() + 1, x.data(), 32);
  std::memcpy(point.data() + 33, y.data(), 32);
  const BnPtr priv(BN_bin2bn(d.data(), 32, nullptr));
  const BldPtr bld(OSSL_PARAM_BLD_new());
  if (!priv || !bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1) {
    return Status(errc::unavailable, "signing key: OpenSSL could not build the key");
  }
  const ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return invalid("not a P-256 key pair");
  }
  PkeyPtr pkey(raw);
  const PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_check(check.get()) != 1) {
    return invalid("the EC private key does not match its public point, or is out of range");
  }
  auto impl = std::make_shared<SigningKey::Impl>(std::move(kid), Algorithm::es256, created);
  impl->x = x;
  impl->y = y;
  impl->d = d;
  impl->pkey = std::move(pkey);
  return impl;
}

}  // namespace

Result<SigningKey> SigningKey::generate(Algorithm alg, std::string kid, Time created_at) {
  if (!valid_kid(kid)) return invalid("kid must be 1-128 printable ASCII characters");
  crypto::init();
  if (alg == Algorithm::eddsa) {
    Bytes32 seed;
    randombytes_buf(seed.data(), seed.size());
    auto impl = ed25519(std::move(kid), created_at, seed);
    sodium_memzero(seed.data(), seed.size());
    if (!impl) return impl.status();
    return SigningKey(std::move(impl).value());
  }
  const PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Bytes32 x{}, y{}, d{};
  if (!pkey || !get32(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, x) ||
      !get32(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, y) ||
      !get32(pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, d)) {
    return Status(errc::unavailable, "signing key: OpenSSL could not generate a P-256 key");
  }
  auto impl = p256(std::move(kid), created_at, x, y, d);
  sodium_memzero(d.data(), d.size());
  if (!impl) return impl.status();
  return SigningKey(std::move(impl).value());
}

Result<SigningKey> SigningKey::import_jwk(std::string_view text) {
  const auto jwk = jose::parse_object(text);
  if (!jwk) return invalid("not a JSON object");
  const auto str = [&](const char* name) -> const std::string* {
    const auto it = jwk->find(name);
    return it != jwk->end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
  };
  const std::string* kty = str("kty");
  const std::string* alg = str("alg");
  const std::string* crv = str("crv");
  const std::string* kid = str("kid");
  if (!kid || !valid_kid(*kid)) return invalid("\"kid\" missing or not 1-128 printable ASCII");
  if (!kty || !alg || !crv) return invalid("\"kty\", \"crv\" and \"alg\" are required");
  const auto created_it = jwk->find("created_ms");
  if (created_it == jwk->end() || !created_it->is_number_integer() ||
      created_it->get<std::int64_t>() < 0) {
    return invalid("\"created_ms\" missing or not a non-negative integer");
  }
  const Time created = from_millis(created_it->get<std::int64_t>());
  const auto d = member32(*jwk, "d");
  if (!d) return invalid("\"d\" missing or not 32 bytes of base64url");
  if (*alg == "EdDSA" && *kty == "OKP" && *crv == "Ed25519") {
    auto impl = ed25519(*kid, created, *d);
    if (!impl) return impl.status();
    if (jwk->contains("x")) {
      const auto x = member32(*jwk, "x");
      if (!x || *x != (*impl)->x) return invalid("\"x\" does not match the Ed25519 seed");
    }
    return SigningKey(std::move(impl).value());
  }
  if (*alg == "ES256" && *kty == "EC" && *crv == "P-256") {
    const auto x = member32(*jwk, "x");
    const auto y = member32(*jwk, "y");
    if (!x || !y) return invalid("\"x\" and \"y\" must be 32 bytes of base64url");
    auto impl = p256(*kid, created, *x, *y, *d);
    if (!impl) return impl.status();
    return SigningKey(std::move(impl).value());
  }
  return invalid("unsupported key: only EdDSA (OKP, Ed25519) and ES256 (EC, P-256)");
}

const std::string& SigningKey::kid() const noexcept {
  return impl_->kid;
}
Algorithm SigningKey::algorithm() const noexcept {
  return impl_->alg;
}
Time SigningKey::created_at() const noexcept {
  return impl_->created;
}

namespace {

nlohmann::json public_members(const SigningKey::Impl& k) {
  nlohmann::json jwk = {{"kid", k.kid}, {"alg", to_string(k.alg)}, {"use", "sig"}};
  jwk["x"] = jose::b64url(k.x);
  if (k.alg == Algorithm::eddsa) {
    jwk["kty"] = "OKP";
    jwk["crv"] = "Ed25519";
  } else {
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["y"] = jose::b64url(k.y);
  }
  return jwk;
}

}  // namespace

std::string SigningKey::export_jwk() const {
  nlohmann::json jwk = public_members(*impl_);
  jwk["d"] = jose::b64url(impl_->d);
  jwk["created_ms"] = to_millis(impl_->created);
  return jwk.dump();  // every string is ASCII: cannot throw
}

std::string SigningKey::public_jwk() const {
  return public_members(*impl_).dump();
}

Result<std::string> SigningKey::sign(std::string_view signing_input) const {
  std::string sig(64, '\0');
  auto* out = reinterpret_cast<std::uint8_t*>(sig.data());
  const auto* in = reinterpret_cast<const std::uint8_t*>(signing_input.data());
  if (impl_->alg == Algorithm::eddsa) {
    crypto_sign_detached(out, nullptr, in, signing_input.size(), impl_->secret.data());
    return sig;
  }
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  std::array<std::uint8_t, 80> der{};  // a P-256 DER signature is at most 72 bytes
  std::size_t der_len = der.size();
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), der.data(), &der_len, in, signing_input.size()) != 1) {
    return Status(errc::unavailable, "signing key: OpenSSL could not sign");
  }
  const std::uint8_t* p = der.data();
  const SigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  if (ecdsa) ECDSA_SIG_get0(ecdsa.get(), &r, &s);
  if (!ecdsa || BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32) {
    return Status(errc::unavailable, "signing key: OpenSSL gave an unreadable signature");
  }
  return sig;
}

bool SigningKey::verify(std::string_view signing_input,
                        std::span<const std::uint8_t> signature) const {
  if (signature.size() != 64) return false;
  const auto* in = reinterpret_cast<const std::uint8_t*>(signing_input.data());
  if (impl_->alg == Algorithm::eddsa) {
    return crypto_sign_verify_detached(signature.data(), in, signing_input.size(),
                                       impl_->x.data()) == 0;
  }
  BnPtr r(BN_bin2bn(signature.data(), 32, nullptr));
  BnPtr s(BN_bin2bn(signature.data() + 32, 32, nullptr));
  const SigPtr ecdsa(ECDSA_SIG_new());
  if (!r || !s || !ecdsa || ECDSA_SIG_set0(ecdsa.get(), r.get(), s.get()) != 1) return false;
  (void)r.release();  // owned by ecdsa now
  (void)s.release();
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(ecdsa.get(), &der);
  if (der_len <= 0) return false;
  const std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(
      der, [](unsigned char* q) { OPENSSL_free(q); });
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->pkey.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_len), in,
                          signing_input.size()) == 1;
}

}  // namespace sessionkit::tokens
