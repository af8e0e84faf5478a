// http_util.h — small HTTP helpers of the demo: responses, security headers, targets, media
// types, timestamps (forms: sessionkit/http/form.h). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "sessionkit/clock.h"

#include "common/html_escape.h"
#include "common/http/message.h"

namespace demo {

// The server's message types (apps/common/http/message.h, shared with the apps' server).
using sessionkit_apps::http::HttpStatus;
using sessionkit_apps::http::Request;
using sessionkit_apps::http::Response;

// A response with the headers every response carries (nosniff, Server, ...), no body yet.
Response make_response(HttpStatus status, unsigned version, bool keep_alive);

// `{"error": message}` with `status`; Content-Type application/json.
Response json_error(HttpStatus status, std::string_view message, unsigned version, bool keep_alive);

// Sets a JSON body (and Content-Type) on `res`.
void set_json_body(Response& res, std::string body);
// Sets an HTML body with a restrictive Content-Security-Policy.
void set_html_body(Response& res, std::string body);
// Sets a text/plain body.
void set_text_body(Response& res, std::string body, std::string_view content_type = {});

// The path part of an origin-form target ("/a/b?c" -> "/a/b") and the query ("c").
std::string_view target_path(std::string_view target);
std::string_view target_query(std::string_view target);

// Whether the media type of a Content-Type value is `type` (case-insensitive, parameters
// ignored), e.g. media_type_is("application/json; charset=utf-8", "application/json").
bool media_type_is(std::string_view content_type, std::string_view type);

// ASCII case-insensitive equality (header names and values, media types).
bool iequals(std::string_view a, std::string_view b);
// Equal contents, compared in time independent of where they differ (secrets, tokens).
bool constant_time_equal(std::string_view a, std::string_view b);

// "2024-01-01T00:00:00Z" (UTC, whole seconds); append_iso8601 writes it onto `out`.
std::string iso8601(sessionkit::Time t);
void append_iso8601(std::string& out, sessionkit::Time t);

// HTML-escapes & < > " ' (apps/common/html_escape.h, shared with sessionctl's console).
using sessionkit_apps::html_escape;

}  // namespace demo
