// sessionkit/http/form.h — application/x-www-form-urlencoded bodies (and query strings).
//
// The one decoder the adapters use to find the CSRF form field, and that apps may use for their
// own forms. It follows the WHATWG URL standard's urlencoded parser (§5.1) with one difference,
// on purpose: a malformed %-escape ("%", "%4", "%zz") makes the whole input invalid (nullopt)
// instead of being kept as literal text, so that a mangled token or field is an error the caller
// sees, never a different value.
//
//   - The input is split on '&'; empty pieces ("a=1&&b=2") are skipped.
//   - Each piece splits at its first '=' into name and value (no '=': the value is empty).
//   - '+' decodes to a space and %XX (hex, either case) to the byte XX; every other byte is kept
//     as it is. The result is bytes: no UTF-8 validation here (the caller decides).
//   - When a name appears more than once, the first value wins.
//
// Pure functions; thread-safe; nothing throws except std::bad_alloc.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sessionkit::http {

// name -> first value.
using FormFields = std::map<std::string, std::string, std::less<>>;

// One name or value decoded; nullopt when it holds a malformed %-escape.
std::optional<std::string> form_decode(std::string_view text);

// Percent-encodes `text` for a name or value: the unreserved characters (A-Z a-z 0-9 - . _ ~)
// are kept, every other byte becomes %XX (upper-case hex). form_decode(form_encode(x)) == x.
std::string form_encode(std::string_view text);

// Every field of `body`; nullopt when any name or value is malformed.
std::optional<FormFields> parse_form(std::string_view body);

// The first value of field `name`; nullopt when it is absent or the body is malformed.
std::optional<std::string> form_field(std::string_view body, std::string_view name);

// Whether a Content-Type header value names application/x-www-form-urlencoded (the media type
// compared case-insensitively, parameters such as "; charset=UTF-8" ignored).
bool is_form_content_type(std::string_view content_type);

}  // namespace sessionkit::http
