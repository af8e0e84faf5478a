// sessionkit/http/authorization.h — reading an `Authorization: Bearer <token>` header value.
//
// `bearer_credential` answers the token of a Bearer credential (RFC 6750 §2.1): the scheme is
// matched case-insensitively, optional whitespace around it and around the token is dropped.
// "" for "Bearer" with no token (the caller answers 400 invalid_request); nullopt for any other
// scheme (Basic, ...), which is not the caller's to read. The token itself is not checked.
// The manager's bearer session IDs (SessionOptions::bearer) and apps' access-token routes share it.
//
// Pure function; thread-safe; no allocation.
#pragma once

#include <optional>
#include <string_view>

namespace sessionkit::http {

std::optional<std::string_view> bearer_credential(std::string_view authorization) noexcept;

}  // namespace sessionkit::http
