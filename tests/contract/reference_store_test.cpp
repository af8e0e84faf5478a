// The conformance suite against ReferenceStore (include/sessionkit/stores/reference.h), the
// executable specification of the contract: what every other store here is compared with.
#include <memory>

#include "contract/store_harness.h"
#include "sessionkit/stores/reference.h"

namespace sessionkit::testing {
namespace {
struct ReferenceTraits {
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    return std::make_shared<ReferenceStore>(clock);
  }
};
[[maybe_unused]] const bool kRegistered = register_store<ReferenceTraits>("Reference");
}  // namespace
}  // namespace sessionkit::testing
SESSIONKIT_STORE_CONFORMANCE(Reference, ReferenceTraits);
