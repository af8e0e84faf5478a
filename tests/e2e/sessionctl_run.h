// sessionctl_run.h — running the sessionctl binary from the e2e suites (SESSIONCTL_BINARY, a
// compile definition from CMake).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/demo_process.h"
#include "support/server_process.h"

namespace e2e {

struct Ran {
  int code = -1;
  std::string output;  // stdout, then stderr
  std::string err;     // stderr alone
  nlohmann::json doc;  // stdout as JSON (discarded when it is not JSON)
};

// Runs sessionctl with `args` in `dir`, to completion (bounded).
inline Ran run_sessionctl(const TempDir& dir, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  std::vector<std::string> argv = {SESSIONCTL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = sessionkit::testing::run_program(argv, dir.path(), false, timeout);
  return {r.code, r.output, r.err, nlohmann::json::parse(r.out, nullptr, false)};
}

}  // namespace e2e
