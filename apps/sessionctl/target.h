// target.h — finding the session a command names (private to sessionctl).
#pragma once

#include "commands.h"
#include "sessionkit/store.h"

namespace sessionctl {

// The session `target` names; Failure(kNotFound) when there is none, kUsage for a malformed
// key or a handle without a secret.
sessionkit::StoredSession find(const Context& ctx, const Target& target);

}  // namespace sessionctl
