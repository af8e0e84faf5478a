// CookieStore: the server-side operations a client-side store cannot perform (see cookie.h).
#include "sessionkit/stores/cookie.h"

namespace sessionkit {
namespace {

Status unsupported() {
  return {errc::unsupported,
          "the cookie store keeps sessions in the client: no server-side records to read, "
          "list or revoke"};
}

}  // namespace

void CookieStore::load(const SessionKey&, std::optional<TouchSpec>,
                       Callback<std::optional<SessionRecord>> done) {
  done(unsupported());
}
void CookieStore::create(const SessionKey&, const SessionRecord&, Callback<void> done) {
  done(unsupported());
}
void CookieStore::patch(const SessionKey&, const SessionPatch&, Callback<void> done) {
  done(unsupported());
}
void CookieStore::increment(const SessionKey&, const std::string&, std::int64_t,
                            std::optional<TouchSpec>, Callback<std::int64_t> done) {
  done(unsupported());
}
void CookieStore::replace(const SessionKey&, const SessionRecord&, Callback<void> done) {
  done(unsupported());
}
void CookieStore::touch(const SessionKey&, TouchSpec, Callback<void> done) {
  done(unsupported());
}
void CookieStore::destroy(const SessionKey&, Callback<bool> done) {
  done(unsupported());
}
void CookieStore::list_user(const std::string&, Callback<std::vector<StoredSession>> done) {
  done(unsupported());
}
void CookieStore::destroy_user(const std::string&, std::optional<SessionKey>,
                               Callback<std::size_t> done) {
  done(unsupported());
}
void CookieStore::count(Callback<std::size_t> done) {
  done(unsupported());
}
void CookieStore::scan(const std::string&, std::size_t, Callback<ScanPage> done) {
  done(unsupported());
}
void CookieStore::purge_expired(std::size_t, Callback<std::size_t> done) {
  done(std::size_t{0});
}
void CookieStore::health(Callback<void> done) {
  done(Status::success());
}

}  // namespace sessionkit
