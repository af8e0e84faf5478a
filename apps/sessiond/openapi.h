// openapi.h — sessiond's OpenAPI 3 document (apps/sessiond/openapi.json, compiled in), served
// at GET /openapi.json. tests/e2e/sessiond_test.cpp checks that every method, route and status
// the tests see sessiond answer is in it.
#pragma once

#include <string_view>

namespace sessiond {

std::string_view openapi_document();

}  // namespace sessiond
