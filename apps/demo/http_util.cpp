#include "http_util.h"

#include <sodium.h>

#include <boost/beast/http/field.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace demo {

namespace bhttp = boost::beast::http;

Response make_response(HttpStatus status, unsigned version, bool keep_alive) {
  Response res{status, version};
  res.set(bhttp::field::server, "sessionkit-demo");
  res.set("X-Content-Type-Options", "nosniff");
  // Not no-referrer: under it browsers send `Origin: null` on same-origin form posts (see
  // sessionkit/http/origin.h); same-origin still sends no URL to other sites.
  res.set("Referrer-Policy", "same-origin");
  res.set("X-Frame-Options", "DENY");
  res.keep_alive(keep_alive);
  return res;
}

Response json_error(HttpStatus status, std::string_view message, unsigned version,
                    bool keep_alive) {
  Response res = make_response(status, version, keep_alive);
  set_json_body(res, nlohmann::json{{"error", message}}.dump());
  return res;
}

void set_json_body(Response& res, std::string body) {
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  res.body() += '\n';
  res.prepare_payload();
}

void set_html_body(Response& res, std::string body) {
  res.set(bhttp::field::content_type, "text/html; charset=utf-8");
  res.set("Content-Security-Policy",
          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'");
  res.body() = std::move(body);
  res.prepare_payload();
}

void set_text_body(Response& res, std::string body, std::string_view content_type) {
  res.set(bhttp::field::content_type,
          content_type.empty() ? std::string_view("text/plain; charset=utf-8") : content_type);
  res.body() = std::move(body);
  res.prepare_payload();
}

std::string_view target_path(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view target_query(std::string_view target) {
  std::size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

bool media_type_is(std::string_view content_type, std::string_view type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t'))
    media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t'))
    media.remove_prefix(1);
  return iequals(media, type);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

void append_iso8601(std::string& out, sessionkit::Time t) {
  // Calendar arithmetic (std::chrono), no gmtime/strftime: this runs on every session response.
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{secs - day};
  const int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) {  // not from a real session: the slow, general way
    const auto raw = static_cast<std::time_t>(secs.time_since_epoch().count());
    std::tm tm{};
    gmtime_r(&raw, &tm);
    char wide[64];
    out.append(wide, std::strftime(wide, sizeof wide, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return;
  }
  char buf[20];  // YYYY-MM-DDTHH:MM:SSZ
  auto two = [&buf](int at, unsigned v) {
    buf[at] = static_cast<char>('0' + v / 10);
    buf[at + 1] = static_cast<char>('0' + v % 10);
  };
  two(0, static_cast<unsigned>(y / 100));
  two(2, static_cast<unsigned>(y % 100));
  buf[4] = '-';
  two(5, static_cast<unsigned>(ymd.month()));
  buf[7] = '-';
  two(8, static_cast<unsigned>(ymd.day()));
  buf[10] = 'T';
  two(11, static_cast<unsigned>(hms.hours().count()));
  buf[13] = ':';
  two(14, static_cast<unsigned>(hms.minutes().count()));
  buf[16] = ':';
  two(17, static_cast<unsigned>(hms.seconds().count()));
  buf[19] = 'Z';
  out.append(buf, sizeof buf);
}

std::string iso8601(sessionkit::Time t) {
  std::string out;
  append_iso8601(out, t);
  return out;
}

}  // namespace demo
