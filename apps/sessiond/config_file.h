// config_file.h — sessiond's optional TOML configuration file (`--config FILE`), read with
// toml++ (private to sessiond). Every key is a command-line option's long name without the
// dashes ("store", "max-body"; '_' may stand for '-'), at the top level:
//
//   listen = "0.0.0.0:7400"
//   store = "redis://10.0.0.5:6379/0"
//   api-key-file = "keys"            # relative paths: to the file's own directory
//   idle-timeout = 1800
//   access-log = true
//
// Precedence: the command line, then the environment (SESSIOND_…), then the file, then the
// defaults — a deployment's env var overrides the shipped file. An unknown key, a value of the
// wrong type or one the option's own check refuses is an error naming the file, the line and
// the key (sessiond then exits 2). The file is read once, at start.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace sessiond {

// Applies `path` to the options of `app`, which has parsed the command line and environment;
// skips "config" and subcommands. Throws CLI::ValidationError or CLI::FileError.
void apply_config_file(CLI::App& app, const std::string& path);

}  // namespace sessiond
