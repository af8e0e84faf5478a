// message.h — the HTTP message types of the apps' server (apps/common/http/server.h) and of the
// handlers it calls: Beast requests and responses with string bodies (not installed).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

namespace sessionkit_apps::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
// The HTTP status of a response (not sessionkit::Status, the library's result of an operation).
using HttpStatus = boost::beast::http::status;

}  // namespace sessionkit_apps::http
