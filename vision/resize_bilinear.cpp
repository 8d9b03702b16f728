// See image.h: resize_bilinear, Pillow's Image.resize(size, BILINEAR) bit for bit, and fast.
//
// The arithmetic is Pillow's (libImaging/Resample.c), integer only, so any order of the same
// additions gives the same bytes; what differs from a naive loop is only the memory layout:
//  - the vertical pass adds whole rows (out_row += weight * in_row), which the compiler
//    vectorises by itself;
//  - the horizontal pass works on 8 rows at once: an 8x8 byte transpose puts sample k of the 8 rows
//    next to each other, so one output sample of 8 rows is 8 sums side by side (one AVX2 register),
//    and a second transpose puts the results back into rows.
// Without AVX2 (or SSE2) the same loops run in plain C++ (the #else branches): read those first.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "tensor/error.h"
#include "vision/image.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace ember::vision {

// ---- the resampling weights (Pillow, libImaging/Resample.c) ------------------------------------
//
// One pass maps in_size samples to out_size. Output sample i is a weighted sum of the inputs
// [first, first + count) with weights that sum to 1:
//   scale  = in_size / out_size;  filterscale = max(scale, 1)   (shrinking widens the filter)
//   support = 1 * filterscale                                    (the triangle's half-width)
//   center = (i + 0.5) * scale
//   first  = max(int(center - support + 0.5), 0),  last = min(int(center + support + 0.5), in_size)
//   w_j    = triangle((first + j - center + 0.5) / filterscale),  triangle(t) = max(0, 1 - |t|)
// then normalised by their sum, and turned into 22-bit fixed point (rounded half away from zero).
// A pixel is (2^21 + sum_j w_j * in_j) >> 22, clipped to 0..255.

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

struct ResampleTaps {
  std::vector<int64_t> first, count;  // per output sample
  std::vector<int32_t> weights;       // out_size rows of `stride` fixed-point weights
  int64_t stride = 0;
};

ResampleTaps bilinear_taps(int64_t in_size, int64_t out_size) {
  const double scale = double(in_size) / double(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  ResampleTaps taps;
  taps.stride = int64_t(std::ceil(support)) * 2 + 1;
  taps.first.resize(size_t(out_size));
  taps.count.resize(size_t(out_size));
  taps.weights.assign(size_t(out_size * taps.stride), 0);
  std::vector<double> w(size_t(taps.stride));
  for (int64_t i = 0; i < out_size; ++i) {
    const double center = (double(i) + 0.5) * scale;
    const int64_t first = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    const int64_t last = std::min<int64_t>(int64_t(center + support + 0.5), in_size);
    const int64_t count = last - first;
    double total = 0;
    for (int64_t j = 0; j < count; ++j) {
      const double t = std::abs((double(j + first) - center + 0.5) / filterscale);
      w[size_t(j)] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[size_t(j)];
    }
    for (int64_t j = 0; j < count; ++j) {
      const double normalised = total != 0.0 ? w[size_t(j)] / total : w[size_t(j)];
      const double fixed = normalised * double(1 << kPrecisionBits);
      taps.weights[size_t(i * taps.stride + j)] = int32_t(normalised < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    taps.first[size_t(i)] = first;
    taps.count[size_t(i)] = count;
  }
  return taps;
}

uint8_t clip_fixed_point(int32_t accumulator) {
  const int32_t value = accumulator >> kPrecisionBits;
  return uint8_t(std::clamp(value, 0, 255));
}

// ---- the horizontal pass, 8 rows at a time --------------------------------------------------------

constexpr int kRows = 8;

// Interleaves 8 rows of `samples` bytes: block[k * 8 + r] = rows[r][k].
void interleave_8_rows(const uint8_t* const* rows, int64_t samples, uint8_t* block) {
  int64_t k0 = 0;
#if defined(__SSE2__)
  // 8 bytes of each row -> 8 groups of 8 bytes, by unpacking bytes, then pairs, then quads.
  for (; k0 + 8 <= samples; k0 += 8) {
    auto load = [&](int r) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(rows[r] + k0)); };
    const __m128i r01 = _mm_unpacklo_epi8(load(0), load(1)), r23 = _mm_unpacklo_epi8(load(2), load(3));
    const __m128i r45 = _mm_unpacklo_epi8(load(4), load(5)), r67 = _mm_unpacklo_epi8(load(6), load(7));
    const __m128i lo0123 = _mm_unpacklo_epi16(r01, r23), hi0123 = _mm_unpackhi_epi16(r01, r23);
    const __m128i lo4567 = _mm_unpacklo_epi16(r45, r67), hi4567 = _mm_unpackhi_epi16(r45, r67);
    __m128i* out = reinterpret_cast<__m128i*>(block + k0 * kRows);
    _mm_storeu_si128(out + 0, _mm_unpacklo_epi32(lo0123, lo4567));
    _mm_storeu_si128(out + 1, _mm_unpackhi_epi32(lo0123, lo4567));
    _mm_storeu_si128(out + 2, _mm_unpacklo_epi32(hi0123, hi4567));
    _mm_storeu_si128(out + 3, _mm_unpackhi_epi32(hi0123, hi4567));
  }
#endif
  for (int64_t k = k0; k < samples; ++k)
    for (int r = 0; r < kRows; ++r) block[k * kRows + r] = rows[r][k];
}

// The inverse: rows[r][k] = block[k * 8 + r]. (An 8x8 byte transpose is its own inverse.)
void deinterleave_8_rows(const uint8_t* block, int64_t samples, uint8_t* const* rows) {
  int64_t k0 = 0;
#if defined(__SSE2__)
  for (; k0 + 8 <= samples; k0 += 8) {
    const uint8_t* in = block + k0 * kRows;
    auto load = [&](int k) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + k * kRows)); };
    const __m128i k01 = _mm_unpacklo_epi8(load(0), load(1)), k23 = _mm_unpacklo_epi8(load(2), load(3));
    const __m128i k45 = _mm_unpacklo_epi8(load(4), load(5)), k67 = _mm_unpacklo_epi8(load(6), load(7));
    const __m128i lo0123 = _mm_unpacklo_epi16(k01, k23), hi0123 = _mm_unpackhi_epi16(k01, k23);
    const __m128i lo4567 = _mm_unpacklo_epi16(k45, k67), hi4567 = _mm_unpackhi_epi16(k45, k67);
    const __m128i rows01 = _mm_unpacklo_epi32(lo0123, lo4567), rows23 = _mm_unpackhi_epi32(lo0123, lo4567);
    const __m128i rows45 = _mm_unpacklo_epi32(hi0123, hi4567), rows67 = _mm_unpackhi_epi32(hi0123, hi4567);
    auto store = [&](int r, __m128i v) { _mm_storel_epi64(reinterpret_cast<__m128i*>(rows[r] + k0), v); };
    store(0, rows01), store(1, _mm_unpackhi_epi64(rows01, rows01));
    store(2, rows23), store(3, _mm_unpackhi_epi64(rows23, rows23));
    store(4, rows45), store(5, _mm_unpackhi_epi64(rows45, rows45));
    store(6, rows67), store(7, _mm_unpackhi_epi64(rows67, rows67));
  }
#endif
  for (int64_t k = k0; k < samples; ++k)
    for (int r = 0; r < kRows; ++r) rows[r][k] = block[k * kRows + r];
}

// Output sample (x, c) of 8 interleaved rows: out8[r] = clip((2^21 + sum_j w[j] * in8[j][r]) >> 22),
// where in8[j] are the 8 bytes of input sample (first + j, c), 3 * 8 bytes apart.
void taps_of_8_rows(const uint8_t* in8, const int32_t* w, int64_t count, uint8_t* out8) {
#if defined(__AVX2__)
  __m256i sum = _mm256_set1_epi32(1 << (kPrecisionBits - 1));
  for (int64_t j = 0; j < count; ++j) {
    const __m256i samples =
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in8 + j * 3 * kRows)));
    sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(samples, _mm256_set1_epi32(w[j])));
  }
  sum = _mm256_srai_epi32(sum, kPrecisionBits);
  // int32 -> int16 -> uint8 with saturation: the clip to 0..255.
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out8), _mm_packus_epi16(words, words));
#else
  int32_t sum[kRows];
  for (int r = 0; r < kRows; ++r) sum[r] = 1 << (kPrecisionBits - 1);
  for (int64_t j = 0; j < count; ++j)
    for (int r = 0; r < kRows; ++r) sum[r] += int32_t(in8[j * 3 * kRows + r]) * w[j];
  for (int r = 0; r < kRows; ++r) out8[r] = clip_fixed_point(sum[r]);
#endif
}

// Horizontal pass over rows [row0, row0 + rows) of `in`: out is (rows, out_width).
Image resample_horizontal(const Image& in, int64_t out_width, int64_t row0, int64_t rows, const ResampleTaps& taps) {
  Image out(out_width, rows);
  const int64_t in_samples = in.width * 3, out_samples = out_width * 3;
  std::vector<uint8_t> in_block(size_t(in_samples * kRows)), out_block(size_t(out_samples * kRows));
  // The last group of rows may have fewer than 8: the missing ones read zeros and write to a spare row.
  const std::vector<uint8_t> zero_row(size_t(in_samples), 0);
  std::vector<uint8_t> spare_row(static_cast<size_t>(out_samples));
  for (int64_t y = 0; y < rows; y += kRows) {
    const uint8_t* in_rows[kRows];
    uint8_t* out_rows[kRows];
    for (int r = 0; r < kRows; ++r) {
      const bool real = y + r < rows;
      in_rows[r] = real ? &in.pixels[size_t((row0 + y + r) * in_samples)] : zero_row.data();
      out_rows[r] = real ? &out.pixels[size_t((y + r) * out_samples)] : spare_row.data();
    }
    interleave_8_rows(in_rows, in_samples, in_block.data());
    for (int64_t x = 0; x < out_width; ++x) {
      const int32_t* w = &taps.weights[size_t(x * taps.stride)];
      const int64_t first = taps.first[size_t(x)], count = taps.count[size_t(x)];
      for (int c = 0; c < 3; ++c)
        taps_of_8_rows(&in_block[size_t((first * 3 + c) * kRows)], w, count, &out_block[size_t((x * 3 + c) * kRows)]);
    }
    deinterleave_8_rows(out_block.data(), out_samples, out_rows);
  }
  return out;
}

// ---- the vertical pass ----------------------------------------------------------------------------

// Output row y = sum_j w[j] * (input row first[y] + j), every sample of the row at once; `in`
// starts at row row0 of the image the taps were made for.
Image resample_vertical(const Image& in, int64_t out_height, int64_t row0, const ResampleTaps& taps) {
  Image out(in.width, out_height);
  const int64_t samples = in.width * 3;
  std::vector<int32_t> sums(static_cast<size_t>(samples));
  for (int64_t y = 0; y < out_height; ++y) {
    const int32_t* w = &taps.weights[size_t(y * taps.stride)];
    const int64_t first = taps.first[size_t(y)] - row0;
    int32_t* sum = sums.data();
    std::fill(sums.begin(), sums.end(), 1 << (kPrecisionBits - 1));
    for (int64_t j = 0; j < taps.count[size_t(y)]; ++j) {
      const uint8_t* row = &in.pixels[size_t((first + j) * samples)];
      const int32_t weight = w[j];
      for (int64_t k = 0; k < samples; ++k) sum[k] += int32_t(row[k]) * weight;
    }
    uint8_t* out_row = &out.pixels[size_t(y * samples)];
    for (int64_t k = 0; k < samples; ++k) out_row[k] = clip_fixed_point(sum[k]);
  }
  return out;
}

}  // namespace

Image resize_bilinear(const Image& image, int64_t width, int64_t height) {
  EMBER_CHECK(width > 0 && height > 0, "resize_bilinear: the target size must be positive, got " +
                                           std::to_string(width) + "x" + std::to_string(height));
  EMBER_CHECK(
      image.width > 0 && image.height > 0,
      "resize_bilinear: the image is empty (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
  if (width == image.width && height == image.height) return image;  // Pillow copies
  const ResampleTaps horizontal = bilinear_taps(image.width, width);
  const ResampleTaps vertical = bilinear_taps(image.height, height);
  if (width == image.width) return resample_vertical(image, height, 0, vertical);
  // Only the rows the vertical pass reads: [first of row 0, last of the last row).
  const int64_t row0 = vertical.first.front();
  const int64_t row_end = vertical.first.back() + vertical.count.back();
  Image rows = resample_horizontal(image, width, row0, row_end - row0, horizontal);
  if (height == image.height) return rows;
  return resample_vertical(rows, height, row0, vertical);
}

}  // namespace ember::vision
