// router_ctx.h — the request as the demo's route files see it (private to the demo).
#pragma once

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http_util.h"
#include "routes.h"
#include "sessionkit/http/beast.h"
#include "sessionkit/http/form.h"

namespace demo {

// The JSON error of every answer the session store could not give (503).
inline constexpr std::string_view kStoreUnavailable = "session store unavailable";

struct Router::Ctx {
  Request& req;
  sessionkit::beast::BeastRequestView view;
  boost::beast::http::verb method;  // HEAD is routed as GET
  std::string_view path;
  // The path parameter of a route that has one: the {handle} of /api/sessions/{handle}.
  std::string_view param;
  // The urlencoded body, parsed when the Content-Type says so; `form_malformed` when that
  // failed (bad %-escape).
  std::optional<sessionkit::http::FormFields> form;
  bool form_malformed = false;
  // Answers go to the HTML page (a notice and the right status), not JSON: GET / and the page's
  // forms (every request outside /api/ but a GET).
  bool html = false;

  // The form field `name`; nullptr when it is missing (or the body is no form).
  const std::string* field(std::string_view name) const {
    if (!form) return nullptr;
    auto it = form->find(name);
    return it == form->end() ? nullptr : &it->second;
  }

  Response make(HttpStatus status) const {
    return make_response(status, req.version(), req.keep_alive());
  }
  Response error(HttpStatus status, std::string_view message) const {
    return json_error(status, message, req.version(), req.keep_alive());
  }
  Response see_other(std::string_view location) const {
    Response res = make(HttpStatus::see_other);
    res.set(boost::beast::http::field::location, location);
    res.set(boost::beast::http::field::cache_control, "no-store");
    res.prepare_payload();
    return res;
  }
  Response method_not_allowed(std::string_view allow) const {
    Response res = error(HttpStatus::method_not_allowed, "method not allowed");
    res.set(boost::beast::http::field::allow, allow);
    return res;
  }
};

}  // namespace demo
