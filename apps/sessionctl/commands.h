// commands.h — sessionctl's commands; each writes its answer to `out` and returns an exit code
// (context.h), or throws Failure (private to sessionctl).
#pragma once

#include <cstddef>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

#include "context.h"

namespace sessionctl {

// Which session a command names: a handle (as the apps show it; needs the secret; with `user`,
// looked up in that user's sessions, else found by a scan) or a store key (64 hex characters).
struct Target {
  std::string handle;
  std::string key_hex;
  std::string user;
};

// The figures `stats` prints (a scan of the whole store; on Redis, the memory sample too).
nlohmann::json stats_report(const Context& ctx);
int stats(const Context& ctx, std::ostream& out);
int list(const Context& ctx, const std::string& user, std::size_t limit, std::ostream& out);
// `reveal`: print the payload's values (announced on `log`); else its keys, types and sizes.
int show(const Context& ctx, const Target& target, bool reveal, std::ostream& out,
         std::ostream& log);
int revoke(const Context& ctx, const Target& target, std::ostream& out);
int revoke_user(const Context& ctx, const std::string& user, std::ostream& out);
int prune(const Context& ctx, std::ostream& out);

}  // namespace sessionctl
