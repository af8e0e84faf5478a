#include "sessionkit/clock.h"

namespace sessionkit {

const Clock& system_clock() noexcept {
  static const SystemClock clock;
  return clock;
}

}  // namespace sessionkit
