#include "sessionkit/session.h"

#include <algorithm>

namespace sessionkit {

Session::Session() : st_(std::make_unique<State>()) {}
Session::~Session() = default;
Session::Session(const Session& other) : st_(std::make_unique<State>(*other.st_)) {}
Session& Session::operator=(const Session& other) {
  if (this != &other) st_ = std::make_unique<State>(*other.st_);
  return *this;
}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const nlohmann::json* Session::find(std::string_view key) const {
  auto it = st_->record_.data.find(key);
  return it == st_->record_.data.end() ? nullptr : &*it;
}

void Session::mark_dirty(const std::string& key) {
  if (std::find(st_->dirty_.begin(), st_->dirty_.end(), key) == st_->dirty_.end())
    st_->dirty_.push_back(key);
  std::erase(st_->erased_, key);
}

void Session::State::changes_saved() noexcept {
  dirty_.clear();
  erased_.clear();
  user_dirty_ = false;
  auth_dirty_ = false;
  credential_dirty_ = false;
}

void Session::State::adopt_loaded(SessionId id, const SessionKey& key, SessionRecord record,
                                  bool reissue) {
  id_ = std::move(id);
  key_ = key;
  record_ = std::move(record);
  loaded_ = true;
  stored_ = true;
  if (reissue) set_cookie_ = true;
}

void Session::State::adopt_created(SessionId id, const SessionKey& key, SessionRecord record) {
  id_ = std::move(id);
  key_ = key;
  record_ = std::move(record);
  stored_ = true;
  set_cookie_ = true;
  regenerate_ = false;
  changes_saved();
}

SessionPatch Session::State::pending_patch(const TouchSpec& touch) {
  SessionPatch patch;
  patch.set.reserve(dirty_.size());
  for (const auto& k : dirty_)
    patch.set.emplace_back(k, record_.data[k]);
  patch.erase = erased_;
  if (user_dirty_) patch.user_id = record_.user_id;
  if (user_dirty_ || auth_dirty_) {
    patch.auth_at = touch.last_access;
    record_.auth_at = touch.last_access;
  }
  patch.touch = touch;
  return patch;
}

void Session::set(std::string key, nlohmann::json value) {
  if (is_reserved_key(key)) st_->reserved_misuse_ = true;
  set_reserved(std::move(key), std::move(value));
}

void Session::set_reserved(std::string key, nlohmann::json value) {
  mark_dirty(key);
  st_->record_.data[std::move(key)] = std::move(value);
}

void Session::erase(std::string_view key) {
  if (is_reserved_key(key)) st_->reserved_misuse_ = true;
  erase_reserved(key);
}

void Session::erase_reserved(std::string_view key) {
  auto it = st_->record_.data.find(key);
  std::string k(key);
  std::erase(st_->dirty_, k);
  if (it != st_->record_.data.end()) st_->record_.data.erase(it);
  if (std::find(st_->erased_.begin(), st_->erased_.end(), k) == st_->erased_.end())
    st_->erased_.push_back(k);
}

void Session::set_user(std::string user_id, std::string_view credential_stamp) {
  if (!st_->record_.user_id.empty() && st_->record_.user_id != user_id) {
    // Another user (or nobody) takes over this browser's session: nothing carries over.
    std::vector<std::string> keys;
    for (const auto& [k, v] : st_->record_.data.items())
      keys.push_back(k);
    for (const auto& k : keys)
      erase_reserved(k);
  }
  st_->record_.user_id = std::move(user_id);
  st_->user_dirty_ = true;
  st_->csrf_rotate_ = !st_->record_.user_id.empty();
  if (st_->record_.user_id.empty()) {
    st_->credential_.reset();
    st_->credential_dirty_ = false;
  } else {
    set_credential(credential_stamp);
  }
}

void Session::set_credential(std::string_view credential_stamp) {
  st_->credential_ = std::string(credential_stamp);
  st_->credential_dirty_ = true;
}

}  // namespace sessionkit
