// store_loops.h — gives a store connections on each of the server's event loops, when it can
// have them (RedisStore::attach; ServerOptions::attach_loop): a request's store calls then stay
// on the request's own thread. Part of sessionkit_apps_http.
#pragma once

#include <functional>
#include <memory>

#include "common/http/server.h"

namespace sessionkit_apps::http {

// The `ServerOptions::attach_loop` hook for `store`: RedisStore::attach when `store` is a
// RedisStore (pass it before any decorator wraps it) and `enabled`; otherwise empty (the store
// keeps its own threads). `store` is kept alive by the hook.
LoopAttacher store_loop_hook(const std::shared_ptr<sessionkit::SessionStore>& store, bool enabled);

}  // namespace sessionkit_apps::http
