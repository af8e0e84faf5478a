// html_escape.h — HTML-escaping for the apps' server-rendered pages (the demo's and sessionctl
// console's; not installed).
#pragma once

#include <string>
#include <string_view>

namespace sessionkit_apps {

// `in` with & < > " ' as entities: safe in element text and in quoted attribute values.
inline std::string html_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace sessionkit_apps
