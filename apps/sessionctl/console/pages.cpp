// pages.cpp — see pages.h.
#include "console/pages.h"

#include "common/html_escape.h"

namespace sessionctl::page {

std::string escape(std::string_view text) {
  return sessionkit_apps::html_escape(text);
}

std::string post_form(std::string_view action, const std::string& csrf,
                      const std::vector<std::pair<std::string, std::string>>& fields,
                      std::string_view button, std::string_view css_class) {
  std::string html = "<form method=\"post\" action=\"" + escape(action) + "\">";
  html += "<input type=\"hidden\" name=\"_csrf\" value=\"" + escape(csrf) + "\">";
  for (const auto& [name, value] : fields) {
    html += "<input type=\"hidden\" name=\"" + escape(name) + "\" value=\"" + escape(value) + "\">";
  }
  html += "<button";
  if (!css_class.empty()) html += " class=\"" + escape(css_class) + "\"";
  return html + ">" + escape(button) + "</button></form>";
}

std::string layout(std::string_view title, const std::string& body, bool signed_in,
                   const std::string& csrf) {
  std::string html =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      escape(title) +
      " · sessionctl console</title><link rel=\"stylesheet\" href=\"/static/console.css\">"
      "</head><body><header><strong>sessionctl console</strong>";
  if (signed_in) {
    html += "<nav><a href=\"/\">Overview</a><a href=\"/search\">Search</a></nav>" +
            post_form("/logout", csrf, {}, "Sign out", "link");
  }
  return html + "</header><main><h1>" + escape(title) + "</h1>" + body + "</main></body></html>";
}

std::string table(const std::vector<std::string>& head,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string html = "<table><thead><tr>";
  for (const std::string& h : head)
    html += "<th>" + escape(h) + "</th>";
  html += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    html += "<tr>";
    for (const std::string& cell : row)
      html += "<td>" + cell + "</td>";
    html += "</tr>";
  }
  return html + "</tbody></table>";
}

std::string_view stylesheet() {
  return R"css(body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;gap:1.5em;align-items:center;padding:.6em 1.2em;background:#1d2330;color:#fff}
header nav{display:flex;gap:1em;flex:1}header a{color:#cfe0ff;text-decoration:none}
header form{margin:0}main{padding:1em 1.6em;max-width:70em}
table{border-collapse:collapse;background:#fff;margin:.6em 0}
th,td{border:1px solid #d9dde4;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eef0f4}code{font-size:90%}.error{color:#a11}.note{color:#555}
button{font:inherit;padding:.25em .8em;cursor:pointer}button.danger{background:#b3261e;color:#fff;border:0}
button.link{background:none;border:0;color:#cfe0ff;padding:0}
form.inline{display:inline}input{font:inherit;padding:.25em}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(13em,1fr));gap:.6em}
.figure{background:#fff;border:1px solid #d9dde4;padding:.6em}.figure b{display:block;font-size:150%}
)css";
}

}  // namespace sessionctl::page
