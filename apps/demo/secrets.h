// secrets.h — the demo's secrets: the cookie keyring and the /metrics bearer token, from a flag,
// the environment or a file (private to the demo). Errors throw UsageError (config.h); the
// messages name flags and paths, never a secret.
#pragma once

#include <string>

#include "config.h"
#include "sessionkit/keyring.h"

namespace demo {

// The contents of a secret file (--secret-file, --metrics-token-file), without its trailing
// newline ("\n" or "\r\n"). Empty, unreadable, not a regular file: UsageError naming `what` and
// the path (never the contents). A file that group or others may read works, with a warning.
std::string read_secret_file(const std::string& what, const std::string& path);

// The keyring text of --secret / SESSION_SECRET or --secret-file (not both); "" when neither is
// given. `on_command_line`: --secret was given as a flag (a warning: others can see it).
std::string secret_text(const Config& cfg, bool on_command_line);

// The --metrics-token-file token, for /metrics and /events ("" without the flag: /metrics is
// public, /events too in development and not served in production; a warning in production).
std::string metrics_token(const Config& cfg, bool production);

// The keyring from `secret` (secret_text); without one, development gets a random per-process
// keyring and production refuses to start. Production also refuses secrets shorter than
// Keyring::kMinSecretBytes.
sessionkit::Keyring make_keyring(const std::string& secret, const Config& cfg, bool production);

}  // namespace demo
