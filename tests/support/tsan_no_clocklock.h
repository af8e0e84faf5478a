// tsan_no_clocklock.h — force-included into every translation unit of the `tsan` preset only
// (CMakePresets.json: -include this file). Not a test helper; nothing includes it by name.
//
// g++ 12's libstdc++ implements std::timed_mutex::try_lock_for / try_lock_until on
// steady_clock with pthread_mutex_clocklock (and std::shared_timed_mutex with
// pthread_rwlock_clock{rd,wr}lock), which g++ 12's ThreadSanitizer runtime does not intercept
// (llvm/llvm-project#62623, google/sanitizers#1620; the interceptor came in LLVM 18). TSan then
// never sees the lock taken: the unlock is reported as "unlock of an unlocked mutex" and
// everything the mutex orders is reported as racing. The SQLite store's writer lock
// (SqliteStore, try_lock_for(busy_timeout)) hit this on every write.
//
// Undefining libstdc++'s configuration macros makes <mutex> and <shared_mutex> take their
// portable path instead (a deadline converted to system_clock and pthread_mutex_timedlock /
// pthread_rwlock_timed{rd,wr}lock, re-checked against the caller's clock), which TSan
// intercepts, so the lock is modelled instead of suppressed. Only the TSan build changes;
// the clock a timed lock waits on is the sole difference.
#pragma once

#include <bits/c++config.h>

#undef _GLIBCXX_USE_PTHREAD_MUTEX_CLOCKLOCK
#undef _GLIBCXX_USE_PTHREAD_RWLOCK_CLOCKLOCK
