#include "common/http/store_loops.h"

#ifdef SESSIONKIT_APPS_WITH_REDIS
#include "sessionkit/stores/redis.h"
#endif

namespace sessionkit_apps::http {

LoopAttacher store_loop_hook(
    [[maybe_unused]] const std::shared_ptr<sessionkit::SessionStore>& store,
    [[maybe_unused]] bool enabled) {
#ifdef SESSIONKIT_APPS_WITH_REDIS
  if (auto redis = std::dynamic_pointer_cast<sessionkit::RedisStore>(store); redis && enabled) {
    return [redis](boost::asio::io_context& loop) { return redis->attach(loop); };
  }
#endif
  return {};
}

}  // namespace sessionkit_apps::http
