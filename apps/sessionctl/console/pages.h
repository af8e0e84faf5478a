// pages.h — the console's HTML: one layout, escaped text, tables and forms (private to
// sessionctl). Every page is server-rendered; no inline script or style (the CSP forbids both):
// the one script, console.js, is a file the console serves.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sessionctl::page {

// `text` with & < > " ' as entities.
std::string escape(std::string_view text);

// A whole page: the title, the navigation (when `signed_in`), and `body` (already HTML).
std::string layout(std::string_view title, const std::string& body, bool signed_in,
                   const std::string& csrf);

// A table; the cells are HTML (escape text first).
std::string table(const std::vector<std::string>& head,
                  const std::vector<std::vector<std::string>>& rows);

// A POST form to `action` with the CSRF token, hidden `fields` (name, value) and a button.
std::string post_form(std::string_view action, const std::string& csrf,
                      const std::vector<std::pair<std::string, std::string>>& fields,
                      std::string_view button, std::string_view css_class = "");

// The console's stylesheet (served as /static/console.css).
std::string_view stylesheet();

// The console's icon (served as /static/icon.svg; a page without one makes the browser ask for
// /favicon.ico).
std::string_view icon();

// The console's script (served as /static/console.js): draws the overview's live charts as SVG
// from /api/series, polled every interval. The pages work without it, charts aside.
std::string_view script();

}  // namespace sessionctl::page
