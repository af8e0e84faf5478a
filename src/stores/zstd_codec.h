// zstd_codec.h — one zstd frame in, one out (internal; CompressedStore and EncryptedStore's
// compression). Each thread keeps its own compression and decompression contexts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sessionkit/result.h"

namespace sessionkit::detail {

// A zstd frame of `in` at `level`, recording the content size.
std::string zstd_compress(std::string_view in, int level);

// The content of the one frame `frame`; errc::corrupt when it is not one whole valid frame, or
// its content (as recorded in the frame, which must record it) exceeds `max_bytes`.
Result<std::string> zstd_decompress(std::string_view frame, std::size_t max_bytes);

// Whether `bytes` begins with zstd's frame magic number (28 B5 2F FD), which no JSON text and
// no UTF-8 text begins with.
bool is_zstd_frame(std::string_view bytes) noexcept;

}  // namespace sessionkit::detail
