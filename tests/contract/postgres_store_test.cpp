// PostgresStore beyond the shared contract.
#include "contract/store_harness.h"
