#include "sessionkit/session.h"

#include <algorithm>

namespace sessionkit {

const nlohmann::json* Session::find(std::string_view key) const {
  auto it = record_.data.find(key);
  return it == record_.data.end() ? nullptr : &*it;
}

void Session::mark_dirty(const std::string& key) {
  if (std::find(dirty_.begin(), dirty_.end(), key) == dirty_.end()) dirty_.push_back(key);
  std::erase(erased_, key);
}

void Session::set(std::string key, nlohmann::json value) {
  mark_dirty(key);
  record_.data[std::move(key)] = std::move(value);
}

void Session::erase(std::string_view key) {
  auto it = record_.data.find(key);
  std::string k(key);
  std::erase(dirty_, k);
  if (it != record_.data.end()) record_.data.erase(it);
  if (std::find(erased_.begin(), erased_.end(), k) == erased_.end()) erased_.push_back(k);
}

void Session::set_user(std::string user_id) {
  record_.user_id = std::move(user_id);
  user_dirty_ = true;
}

}  // namespace sessionkit
