// store_url.h — opens a SessionStore from a URL given on the command line.
//
//   memory://            the in-process memory store (sessions die with the process)
//   sqlite://PATH        the SQLite store in file PATH (relative to the working directory, or
//                        absolute as in sqlite:///var/lib/demo/s.db); the parent directory is
//                        created when missing
//
// Errors (never throws): errc::invalid_argument for an unknown scheme or a malformed URL,
// errc::unavailable when the store cannot be opened (directory or file not accessible, ...).
#pragma once

#include <memory>
#include <string_view>

#include "sessionkit/result.h"
#include "sessionkit/store.h"

namespace demo {

sessionkit::Result<std::shared_ptr<sessionkit::SessionStore>> open_store(std::string_view url);

}  // namespace demo
