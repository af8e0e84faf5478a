// libFuzzer target for the cookie codec (build with clang: -fsanitize=fuzzer,address,undefined).
//
// Checks, for any input:
// - for_each_cookie only hands out views inside the header, with non-empty names free of ';',
//   '=', and surrounding spaces/tabs; find_cookie agrees with for_each_cookie and count_cookies.
// - a SetCookie built from the input that passes validate() serializes to a header whose
//   name=value pair parses back to the same name and value, and http_date never misbehaves.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sessionkit/http/cookie.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

void fuzz_parse(std::string_view header) {
  const char* begin = header.data();
  const char* end = header.data() + header.size();
  std::size_t visited = 0;
  std::string_view first_name, first_value;
  sessionkit::http::for_each_cookie(header, [&](std::string_view n, std::string_view v) {
    check(!n.empty());
    check(n.data() >= begin && n.data() + n.size() <= end);
    check(v.data() >= begin && v.data() + v.size() <= end);
    check(n.find_first_of(";=") == std::string_view::npos);
    check(v.find(';') == std::string_view::npos);
    check(!is_ows(n.front()) && !is_ows(n.back()));
    if (visited++ == 0) {
      first_name = n;
      first_value = v;
    }
    return true;
  });
  if (visited > 0) {
    auto found = sessionkit::http::find_cookie(header, first_name);
    check(found.has_value() && found->data() == first_value.data() &&
          found->size() == first_value.size());
    check(sessionkit::http::count_cookies(header, first_name) >= 1);
  }
}

void fuzz_set_cookie(const std::uint8_t* data, std::size_t size) {
  if (size < 12) return;
  using namespace sessionkit;
  http::SetCookie c;
  const std::uint8_t flags = data[0];
  std::int64_t when = 0;
  for (int i = 0; i < 8; ++i)
    when = (when << 8) | data[1 + i];
  data += 9;
  size -= 9;
  // The rest is "name\0value\0domain\0path".
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string* fields[] = {&c.name, &c.value, &c.domain, &c.path};
  for (std::string* f : fields) {
    std::size_t nul = rest.find('\0');
    *f = std::string(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view{} : rest.substr(nul + 1);
  }
  c.secure = flags & 1;
  c.http_only = flags & 2;
  c.partitioned = flags & 4;
  c.same_site = static_cast<http::SameSite>((flags >> 3) & 3);
  if (flags & 32) c.max_age = std::chrono::seconds(when);
  if (flags & 64) c.expires = from_millis(when);

  const std::string date = http::http_date(from_millis(when));
  check(date.size() == 29 && date.ends_with(" GMT"));

  const std::string header = c.serialize();
  if (!c.validate().ok()) return;
  auto parsed = http::find_cookie(header, c.name);
  // The first pair is name=value (attributes such as "Path=/" parse as later pairs).
  check(parsed.has_value() && *parsed == c.value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_parse(std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz_set_cookie(data, size);
  return 0;
}
