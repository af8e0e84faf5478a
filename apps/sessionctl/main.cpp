// sessionctl — look into a session store, end sessions, move them between stores, from the
// command line or a web console.
//
//   sessionctl --store URL stats | list [--user U] [--limit N] | show HANDLE|--key HEX
//              [--reveal] | revoke HANDLE|--key HEX | revoke-user USER | prune
//              | export [-o FILE] | import [-i FILE] | migrate --to URL [--cursor-file F]
//              | hash-password | console [--listen HOST:PORT] --admin-password-hash-file F
//                [--scrape URL ...] [--scrape-token-file F] [--scrape-interval S]
//
// Every read command takes --json. The store URL is any the demo takes (SESSION_STORE); the
// apps' secret (--secret-file, SESSION_SECRET_FILE) gives session handles as the apps show them
// and opens values sealed with --encrypt-at-rest. Exit codes: context.h and docs/operations.md.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "console/admin_password.h"
#include "context.h"
#include "transfer.h"
#ifdef SESSIONCTL_WITH_CONSOLE
#include "console/console.h"
#endif

int main(int argc, char** argv) {
  using namespace sessionctl;
  CLI::App app{"sessionctl: inspect a sessionkit session store and end sessions"};
  app.require_subcommand(1);
  app.fallthrough();  // the global options are accepted after the command too
  app.footer(
      "Exit codes: 0 done; 1 no such session; 2 bad usage; 3 the store could not answer; "
      "4 the store holds data sessionctl cannot read (or the input file is bad); 5 a conflict "
      "(--on-conflict fail).\nSee docs/operations.md.");
  Options o;
  app.add_option("--store", o.store,
                 "The store URL, as the apps take it: sqlite://PATH, redis://…, "
                 "redis+cluster://…, postgresql://… (passwords are shown as ***)")
      ->envname("SESSION_STORE");
  app.add_option("--secret", o.secret,
                 "The apps' secrets (comma-separated, newest first): handles as the apps show "
                 "them, and sealed values with --encrypt-at-rest. Prefer --secret-file")
      ->envname("SESSION_SECRET");
  app.add_option("--secret-file", o.secret_file, "Read the secrets from this file")
      ->envname("SESSION_SECRET_FILE");
  app.add_flag("--encrypt-at-rest", o.encrypted,
               "The apps seal values (sessionkit::EncryptedStore): open them with the secret")
      ->envname("SESSION_ENCRYPT_AT_REST");
  app.add_flag("--compressed", o.compressed,
               "The apps compress values (sessionkit::CompressedStore): read them inflated");
  app.add_flag("--json", o.json, "Machine-readable output (one JSON document)");

  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "Sessions, users, payload sizes, expiry and age over the whole store (a scan)");
  std::string list_user;
  std::size_t limit = 50;
  CLI::App* list_cmd =
      app.add_subcommand("list", "Sessions: a user's (the user index), or the first N of a scan");
  list_cmd->add_option("--user", list_user, "Only this user's sessions");
  list_cmd->add_option("--limit", limit, "At most this many (default 50)");
  Target target;
  bool reveal = false;
  CLI::App* show_cmd = app.add_subcommand(
      "show", "One session: its times, client and payload (keys, types and sizes; --reveal)");
  CLI::App* revoke_cmd = app.add_subcommand("revoke", "End one session");
  for (CLI::App* cmd : {show_cmd, revoke_cmd}) {
    cmd->add_option("handle", target.handle,
                    "The session's handle, as the apps show it (one that begins with '-' after "
                    "--: show --reveal -- -H8S...)");
    cmd->add_option("--key", target.key_hex, "The session's store key (64 hex characters)");
    cmd->add_option("--user", target.user, "Look the handle up in this user's sessions only");
  }
  show_cmd->add_flag("--reveal", reveal,
                     "Print the payload's values (announced on stderr: it is personal data)");
  std::string user;
  CLI::App* revoke_user_cmd =
      app.add_subcommand("revoke-user", "End every session of a user (log out everywhere)");
  revoke_user_cmd->add_option("user", user, "The user id")->required();
  CLI::App* prune_cmd = app.add_subcommand(
      "prune", "Delete expired records now (stores that do not expire by TTL: SQLite, PostgreSQL)");

  // export, import, migrate: copying sessions (transfer.h).
  CopyOptions copy;
  std::string conflict = "skip", progress = "auto", output, input, to_url, cursor_file;
  double interval_seconds = 5;
  CLI::App* export_cmd = app.add_subcommand(
      "export", "Write every live session to a file (or stdout), values as stored");
  export_cmd->add_option("--output,-o", output, "The file (default: stdout); written whole or not");
  CLI::App* import_cmd =
      app.add_subcommand("import", "Read the sessions of an export into --store");
  import_cmd->add_option("--input,-i", input, "The export file (default: stdin)");
  CLI::App* migrate_cmd = app.add_subcommand(
      "migrate", "Copy every live session of --from (or --store) into --to, with its deadlines");
  migrate_cmd->add_option("--from", o.store, "The source store URL (default: --store)");
  migrate_cmd->add_option("--to", to_url, "The target store URL")->required();
  migrate_cmd->add_option("--cursor-file", cursor_file,
                          "Record progress here after each page; the same command resumes");
  for (CLI::App* cmd : {import_cmd, migrate_cmd}) {
    cmd->add_option("--on-conflict", conflict,
                    "When the target has the key with other contents: skip (keep the target's), "
                    "newer (keep the one accessed last), fail (stop, exit 5)")
        ->check(CLI::IsMember({"skip", "newer", "fail"}));
    cmd->add_flag("--dry-run", copy.dry_run, "Read both sides and count; write nothing");
    cmd->add_option("--rate", copy.rate, "At most this many sessions per second")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--parallel", copy.parallel, "Sessions in flight at once (default 8)")
        ->check(CLI::Range(1, 256));
  }
  for (CLI::App* cmd : {export_cmd, import_cmd, migrate_cmd}) {
    cmd->add_option("--batch", copy.batch, "Sessions per page (default 1000)")
        ->check(CLI::Range(1, 100000));
    cmd->add_option("--progress", progress,
                    "auto: a bar on a terminal, else a line every --progress-interval; always; "
                    "never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
    cmd->add_option("--progress-interval", interval_seconds,
                    "Seconds between progress lines when stderr is not a terminal (default 5)")
        ->check(CLI::PositiveNumber);
  }

  CLI::App* hash_cmd = app.add_subcommand(
      "hash-password",
      "Read a password from stdin (one line) and print its argon2id hash, for the console");
#ifdef SESSIONCTL_WITH_CONSOLE
  ConsoleOptions console_opts;
  std::string hash_file;
  CLI::App* console_cmd = app.add_subcommand(
      "console", "Serve the web console (overview, search, session detail, revoke)");
  console_cmd->add_option("--listen", console_opts.listen,
                          "HOST:PORT (default 127.0.0.1:9090; keep it on loopback or behind TLS)");
  console_cmd
      ->add_option("--admin-password-hash-file", hash_file,
                   "A file holding the admin password's argon2id hash "
                   "(sessionctl hash-password)")
      ->envname("SESSIONCTL_ADMIN_PASSWORD_HASH_FILE");
  console_cmd
      ->add_option("--admin-password-hash", console_opts.password_hash,
                   "The hash itself (prefer the file)")
      ->envname("SESSIONCTL_ADMIN_PASSWORD_HASH");
  console_cmd->add_option("--threads", console_opts.threads, "Request threads (default 8)")
      ->check(CLI::Range(1, 64));
  std::string scrape_token_file;
  double scrape_seconds = 2;
  console_cmd
      ->add_option("--scrape", console_opts.scrape.targets,
                   "An app instance's base URL (http://HOST:PORT); its /metrics feed the live "
                   "charts and its /events the events page. Repeat for several instances")
      ->envname("SESSIONCTL_SCRAPE")
      ->delimiter(',');
  console_cmd
      ->add_option("--scrape-token-file", scrape_token_file,
                   "A file holding the bearer token the instances' /metrics and /events want "
                   "(their --metrics-token-file)")
      ->envname("SESSIONCTL_SCRAPE_TOKEN_FILE");
  console_cmd
      ->add_option("--scrape-interval", scrape_seconds,
                   "Seconds between scrapes (default 2; the charts keep 180 points)")
      ->check(CLI::Range(0.2, 300.0));
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kOk : kUsage;
  }
  try {
    copy.on_conflict = conflict == "newer"  ? OnConflict::kNewer
                       : conflict == "fail" ? OnConflict::kFail
                                            : OnConflict::kSkip;
    copy.progress = progress == "always"  ? Progress::Mode::kAlways
                    : progress == "never" ? Progress::Mode::kNever
                                          : Progress::Mode::kAuto;
    copy.progress_interval =
        std::chrono::milliseconds(static_cast<std::int64_t>(interval_seconds * 1000));
    if (*hash_cmd) {  // needs no store
      std::string password;
      std::getline(std::cin, password);
      if (password.ends_with('\r')) password.pop_back();
      if (password.size() < 12) throw Failure(kUsage, "hash-password: at least 12 characters");
      std::cout << hash_password(password) << '\n';
      return kOk;
    }
    const Context ctx(o);
    if (*stats_cmd) return stats(ctx, std::cout);
    if (*list_cmd) return list(ctx, list_user, limit, std::cout);
    if (*show_cmd) return show(ctx, target, reveal, std::cout, std::cerr);
    if (*revoke_cmd) return revoke(ctx, target, std::cout);
    if (*revoke_user_cmd) return revoke_user(ctx, user, std::cout);
    if (*prune_cmd) return prune(ctx, std::cout);
    if (*export_cmd) return export_sessions(ctx, output, copy, std::cout);
    if (*import_cmd) return import_sessions(ctx, input, copy, std::cout);
    if (*migrate_cmd) return migrate(ctx, to_url, cursor_file, copy, std::cout);
#ifdef SESSIONCTL_WITH_CONSOLE
    if (*console_cmd) {
      if (!hash_file.empty()) {
        std::ifstream in(hash_file);
        if (!in || !std::getline(in, console_opts.password_hash)) {
          throw Failure(kUsage, "--admin-password-hash-file: cannot read " + hash_file);
        }
      }
      if (!scrape_token_file.empty()) {
        std::ifstream in(scrape_token_file);
        if (!in || !std::getline(in, console_opts.scrape.token) ||
            console_opts.scrape.token.empty()) {
          throw Failure(kUsage,
                        "--scrape-token-file: cannot read a token from " + scrape_token_file);
        }
      }
      for (const std::string& t : console_opts.scrape.targets) {
        if (!t.starts_with("http://") && !t.starts_with("https://")) {
          throw Failure(
              kUsage, "--scrape: a base URL like http://127.0.0.1:8080 expected, not '" + t + "'");
        }
      }
      console_opts.scrape.interval =
          std::chrono::milliseconds(static_cast<std::int64_t>(scrape_seconds * 1000));
      return console(ctx, console_opts);
    }
#endif
  } catch (const Failure& f) {
    std::cerr << "sessionctl: " << f.what() << '\n';
    return f.code;
  } catch (const std::exception& e) {
    std::cerr << "sessionctl: " << e.what() << '\n';
    return kStoreError;
  }
  return kUsage;
}
