// config_file.cpp — see config_file.h.
#include "config_file.h"

#include <toml++/toml.h>
#include <filesystem>

namespace sessiond {

namespace {

std::string where(const std::string& path, const toml::node& node) {
  const toml::source_region& at = node.source();
  return path + ":" + std::to_string(at.begin.line);
}

// The option's text value(s) of a TOML value.
std::vector<std::string> texts_of(const toml::node& value, const std::string& at,
                                  const std::string& key) {
  std::vector<std::string> out;
  auto one = [&](const toml::node& v) {
    if (const auto* s = v.as_string()) return s->get();
    if (const auto* i = v.as_integer()) return std::to_string(i->get());
    if (const auto* b = v.as_boolean()) return std::string(b->get() ? "true" : "false");
    throw CLI::ValidationError(at, key + ": a string, an integer or true/false is expected");
  };
  if (const auto* array = value.as_array()) {
    for (const toml::node& v : *array)
      out.push_back(one(v));
  } else {
    out.push_back(one(value));
  }
  return out;
}

}  // namespace

void apply_config_file(CLI::App& app, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw CLI::ValidationError(
        path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column),
        std::string(e.description()));
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  for (const auto& [key_node, value] : table) {
    std::string key(key_node.str());
    const std::string at = where(path, value);
    std::replace(key.begin(), key.end(), '_', '-');
    if (value.is_table()) throw CLI::ValidationError(at, key + ": sections are not used");
    CLI::Option* opt = nullptr;
    if (key != "config" && key != "help") {
      try {
        opt = app.get_option("--" + key);
      } catch (const CLI::OptionNotFound&) {
        opt = nullptr;
      }
    }
    if (opt == nullptr) throw CLI::ValidationError(at, key + ": not a sessiond option");
    std::vector<std::string> texts = texts_of(value, at, key);
    if (texts.size() > 1 && opt->get_multi_option_policy() != CLI::MultiOptionPolicy::TakeAll &&
        opt->get_expected_max() <= 1) {
      throw CLI::ValidationError(at, key + ": one value is expected");
    }
    if (opt->count() > 0) continue;  // the command line or the environment said it
    if (key.ends_with("-file") && !texts.empty() && !texts[0].empty() &&
        std::filesystem::path(texts[0]).is_relative()) {
      texts[0] = (dir / texts[0]).string();
    }
    for (const std::string& t : texts)
      opt->add_result(t);
    try {
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw CLI::ValidationError(at, key + ": " + e.what());
    }
  }
}

}  // namespace sessiond
