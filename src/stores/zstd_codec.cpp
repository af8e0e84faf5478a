// zstd_codec.cpp — see zstd_codec.h.
#include "stores/zstd_codec.h"

#include <zstd.h>

#include <memory>

namespace sessionkit::detail {

namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};

Status corrupt(const std::string& what) {
  return {errc::corrupt, "compressed value: " + what};
}

}  // namespace

std::string zstd_compress(std::string_view in, int level) {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  std::string out(ZSTD_compressBound(in.size()), '\0');
  const std::size_t n =
      ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), in.data(), in.size(), level);
  if (ZSTD_isError(n) != 0U) throw std::bad_alloc();  // only when out of memory
  out.resize(n);
  return out;
}

Result<std::string> zstd_decompress(std::string_view frame, std::size_t max_bytes) {
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) return corrupt("not a zstd frame");
  if (size == ZSTD_CONTENTSIZE_UNKNOWN) return corrupt("the frame does not record its size");
  if (size > max_bytes) {
    return corrupt("the frame holds " + std::to_string(size) + " bytes, more than the limit of " +
                   std::to_string(max_bytes));
  }
  // One whole frame, nothing after it.
  if (ZSTD_findFrameCompressedSize(frame.data(), frame.size()) != frame.size()) {
    return corrupt("not exactly one zstd frame");
  }
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  std::string out(static_cast<std::size_t>(size), '\0');
  const std::size_t n =
      ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n) != 0U) return corrupt(ZSTD_getErrorName(n));
  if (n != out.size()) return corrupt("the frame's content is shorter than it records");
  return out;
}

bool is_zstd_frame(std::string_view bytes) noexcept {
  return bytes.size() >= 4 && static_cast<unsigned char>(bytes[0]) == 0x28 &&
         static_cast<unsigned char>(bytes[1]) == 0xB5 &&
         static_cast<unsigned char>(bytes[2]) == 0x2F &&
         static_cast<unsigned char>(bytes[3]) == 0xFD;
}

}  // namespace sessionkit::detail
