// router_ctx.h — the per-request state shared by the demo's route files (private to the demo).
#pragma once

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "http_util.h"
#include "routes.h"
#include "sessionkit/http/beast.h"

namespace demo {

struct Router::Ctx {
  Request& req;
  sessionkit::beast::BeastRequestView view;
  boost::beast::http::verb method;  // HEAD is routed as GET
  std::string_view path;
  // The urlencoded body, parsed when the Content-Type says so; `form_malformed` when that
  // failed (bad %-escape).
  std::optional<std::map<std::string, std::string, std::less<>>> form;
  bool form_malformed = false;
  // The request came from one of the HTML page's forms (a route outside /api/): errors are
  // answered with the page and a notice, not JSON.
  bool html = false;

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
