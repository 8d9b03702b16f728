// Winograd F(2x2, 3x3) on the CPU: the matrices, shapes and formulas are in winograd.h.
//
// Each pass works on a chunk of images at a time, so the transformed tiles stay a few MiB (and
// mostly in the caches) whatever the batch size:
//   1. transform the chunk's input tiles     V (16, C_in, T)
//   2. 16 GEMMs, one per tile position xi      M[xi] = U[xi] @ V[xi]
//   3. transform back to 2x2 output tiles      Y = A^T M A
// The filters are transformed once per call: U (16, C_out, C_in). Threads: with at least as many
// chunks as threads, each thread runs whole chunks (all three steps) on its own, taking the next
// chunk when it is done, with no barrier in between: a thread that the OS pauses on a busy machine
// holds up nobody. With fewer chunks (small batches), the chunks run in turn and the threads share
// each step: (image, channel) planes for the transforms, the 16 GEMMs for step 2.
#include "tensor/cpu/winograd.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "tensor/cpu/gemm.h"
#include "tensor/parallel.h"

namespace ember::cpu {

namespace {

constexpr int64_t kPositions = 16;  // xi: the positions of a 4x4 transformed tile

// A chunk's transformed tiles (input and output side together) take at most about this many floats
// (4 MiB), or one image's worth if that is more: small enough to stay in the caches between the
// transforms and the GEMMs (measured at 1, 4 and 16 MiB: 4 is best for ResNet34's 56x56 layers).
constexpr int64_t kChunkFloats = int64_t(1) << 20;

// ---- the transforms, on 8 tiles at once --------------------------------------------------------
//
// The tile transforms run on `Lanes`, 8 floats side by side (GCC's vector extension: +, - and *
// work lane by lane), lane k holding tile tx0 + k of one tile row. Written once as templates, they
// read like the matrices in winograd.h.
using Lanes = float __attribute__((vector_size(32)));
constexpr int64_t kLanes = 8;

// v (4x4) = B^T d B: B^T's rows combine rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3), B the columns alike.
template <typename V>
inline void input_transform(const V d[16], V v[16]) {
  V t[16];  // B^T d
  for (int j = 0; j < 4; ++j) {
    t[0 * 4 + j] = d[0 * 4 + j] - d[2 * 4 + j];
    t[1 * 4 + j] = d[1 * 4 + j] + d[2 * 4 + j];
    t[2 * 4 + j] = d[2 * 4 + j] - d[1 * 4 + j];
    t[3 * 4 + j] = d[1 * 4 + j] - d[3 * 4 + j];
  }
  for (int i = 0; i < 4; ++i) {
    const V* r = t + i * 4;
    v[i * 4 + 0] = r[0] - r[2];
    v[i * 4 + 1] = r[1] + r[2];
    v[i * 4 + 2] = r[2] - r[1];
    v[i * 4 + 3] = r[1] - r[3];
  }
}

// y (2x2) = A^T m A: A^T's rows are (m0 + m1 + m2, m1 - m2 - m3).
template <typename V>
inline void output_transform(const V m[16], V y[4]) {
  V t[8];  // A^T m (2x4)
  for (int j = 0; j < 4; ++j) {
    t[0 * 4 + j] = m[0 * 4 + j] + m[1 * 4 + j] + m[2 * 4 + j];
    t[1 * 4 + j] = m[1 * 4 + j] - m[2 * 4 + j] - m[3 * 4 + j];
  }
  for (int i = 0; i < 2; ++i) {
    const V* r = t + i * 4;
    y[i * 2 + 0] = r[0] + r[1] + r[2];
    y[i * 2 + 1] = r[1] - r[2] - r[3];
  }
}

// z (4x4) = A g A^T for a 2x2 gradient tile g: the adjoint of output_transform. A's rows are
// (g0, g0 + g1, g0 - g1, -g1).
template <typename V>
inline void output_grad_transform(const V g[4], V z[16]) {
  V t[8];  // A g (4x2)
  for (int j = 0; j < 2; ++j) {
    t[0 * 2 + j] = g[j];
    t[1 * 2 + j] = g[j] + g[2 + j];
    t[2 * 2 + j] = g[j] - g[2 + j];
    t[3 * 2 + j] = -g[2 + j];
  }
  for (int i = 0; i < 4; ++i) {
    const V a = t[i * 2], b = t[i * 2 + 1];
    z[i * 4 + 0] = a;
    z[i * 4 + 1] = a + b;
    z[i * 4 + 2] = a - b;
    z[i * 4 + 3] = -b;
  }
}

// u (4x4) = G g G^T for a 3x3 filter g: G's rows are (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2).
template <typename V>
inline void filter_transform(const V g[9], V u[16]) {
  V t[12];  // G g (4x3)
  for (int j = 0; j < 3; ++j) {
    t[0 * 3 + j] = g[0 * 3 + j];
    t[1 * 3 + j] = 0.5f * (g[0 * 3 + j] + g[1 * 3 + j] + g[2 * 3 + j]);
    t[2 * 3 + j] = 0.5f * (g[0 * 3 + j] - g[1 * 3 + j] + g[2 * 3 + j]);
    t[3 * 3 + j] = g[2 * 3 + j];
  }
  for (int i = 0; i < 4; ++i) {
    const V* r = t + i * 3;
    u[i * 4 + 0] = r[0];
    u[i * 4 + 1] = 0.5f * (r[0] + r[1] + r[2]);
    u[i * 4 + 2] = 0.5f * (r[0] - r[1] + r[2]);
    u[i * 4 + 3] = r[2];
  }
}

// w (3x3) = G^T z G for a 4x4 z: the adjoint of filter_transform. G^T's rows are
// (z0 + (z1 + z2) / 2, (z1 - z2) / 2, (z1 + z2) / 2 + z3).
template <typename V>
inline void filter_grad_transform(const V z[16], V w[9]) {
  V t[12];  // G^T z (3x4)
  for (int j = 0; j < 4; ++j) {
    t[0 * 4 + j] = z[0 * 4 + j] + 0.5f * (z[1 * 4 + j] + z[2 * 4 + j]);
    t[1 * 4 + j] = 0.5f * (z[1 * 4 + j] - z[2 * 4 + j]);
    t[2 * 4 + j] = 0.5f * (z[1 * 4 + j] + z[2 * 4 + j]) + z[3 * 4 + j];
  }
  for (int i = 0; i < 3; ++i) {
    const V* r = t + i * 4;
    w[i * 3 + 0] = r[0] + 0.5f * (r[1] + r[2]);
    w[i * 3 + 1] = 0.5f * (r[1] - r[2]);
    w[i * 3 + 2] = 0.5f * (r[1] + r[2]) + r[3];
  }
}

// Moving Lanes in and out of memory. p[0..15] holds columns 2k and 2k + 1 of tiles k = 0..7.
#if defined(__AVX2__)
// even = p[0], p[2], ..., p[14] and odd = p[1], p[3], ..., p[15]
inline void load_deinterleaved(const float* p, Lanes& even, Lanes& odd) {
  const __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
  // shuffle_ps picks within 128-bit halves: (p0 p2 p8 p10 | p4 p6 p12 p14); permute4x64 puts the
  // 64-bit pairs in order: (p0 p2 p4 p6 | p8 p10 p12 p14).
  even = (Lanes)_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
  odd = (Lanes)_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xDD)), 0xD8));
}
// p[0..15] = a0 b0 a1 b1 ... a7 b7
inline void store_interleaved(float* p, Lanes a, Lanes b) {
  const __m256 lo = _mm256_unpacklo_ps((__m256)a, (__m256)b), hi = _mm256_unpackhi_ps((__m256)a, (__m256)b);
  _mm256_storeu_ps(p, _mm256_permute2f128_ps(lo, hi, 0x20));
  _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
}
inline __m256i first_lanes_mask(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
// p[0 .. count) into the first lanes (count <= 8; the others 0), and back
inline Lanes load_first(const float* p, int64_t count) {
  return count == kLanes ? (Lanes)_mm256_loadu_ps(p) : (Lanes)_mm256_maskload_ps(p, first_lanes_mask(count));
}
inline void store_first(float* p, Lanes v, int64_t count) {
  if (count == kLanes) return _mm256_storeu_ps(p, (__m256)v);
  _mm256_maskstore_ps(p, first_lanes_mask(count), (__m256)v);
}
// lane l = p[l * stride] for the first `count` lanes (the others 0)
inline Lanes load_strided(const float* p, int64_t stride, int64_t count) {
  const __m256i index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(int(stride)));
  return (Lanes)_mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, index, _mm256_castsi256_ps(first_lanes_mask(count)),
                                         4);
}
#else
inline void load_deinterleaved(const float* p, Lanes& even, Lanes& odd) {
  for (int k = 0; k < kLanes; ++k) even[k] = p[2 * k], odd[k] = p[2 * k + 1];
}
inline void store_interleaved(float* p, Lanes a, Lanes b) {
  for (int k = 0; k < kLanes; ++k) p[2 * k] = a[k], p[2 * k + 1] = b[k];
}
inline Lanes load_first(const float* p, int64_t count) {
  Lanes v = {};
  for (int64_t k = 0; k < count; ++k) v[k] = p[k];
  return v;
}
inline void store_first(float* p, Lanes v, int64_t count) {
  for (int64_t k = 0; k < count; ++k) p[k] = v[k];
}
inline Lanes load_strided(const float* p, int64_t stride, int64_t count) {
  Lanes v = {};
  for (int64_t k = 0; k < count; ++k) v[k] = p[k * stride];
  return v;
}
#endif

// ---- whole passes -------------------------------------------------------------------------------

// The 2x2 output tiles over an (OH, OW) plane: ceil(OH / 2) x ceil(OW / 2) of them, walked in
// blocks of 8 along each tile row (the last block of a row may be partial).
struct TileGrid {
  int64_t rows, cols;
  int64_t per_image() const { return rows * cols; }
  int64_t blocks_per_row() const { return (cols + kLanes - 1) / kLanes; }
};
TileGrid grid_for(int64_t OH, int64_t OW) { return {(OH + 1) / 2, (OW + 1) / 2}; }

// A run of images [n0, n1) and its T = (n1 - n0) * tiles per image tiles; tile t = ((n - n0) rows
// + ty) cols + tx covers outputs (2 ty .. 2 ty + 1, 2 tx .. 2 tx + 1) of image n.
struct Chunk {
  int64_t n0, n1, tiles;
};

// Images per chunk: as many as keep floats_per_image * images within kChunkFloats, at least one.
int64_t images_per_chunk(int64_t floats_per_image, int64_t N) {
  return std::clamp<int64_t>(kChunkFloats / std::max<int64_t>(floats_per_image, 1), 1, N);
}

// A copy of an H x W plane shifted by (top, left) into a zeroed rows x cols buffer (per thread,
// reused): padded[r][c] = plane[r - top][c - left], 0 outside the plane. Every read of the tile
// loops below then stays inside the buffer, with no bounds checks.
struct PaddedPlane {
  const float* data;
  int64_t cols;
  const float* row(int64_t r) const { return data + r * cols; }
};
PaddedPlane pad_plane(const float* plane, int64_t H, int64_t W, int64_t top, int64_t left, int64_t rows, int64_t cols) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < static_cast<size_t>(rows * cols)) buffer.resize(static_cast<size_t>(rows * cols));
  float* padded = buffer.data();
  std::fill(padded, padded + rows * cols, 0.0f);
  const int64_t c0 = std::max<int64_t>(0, -left), c1 = std::min(W, cols - left);  // plane columns kept
  for (int64_t h = std::max<int64_t>(0, -top); h < std::min(H, rows - top); ++h)
    if (c0 < c1) std::copy(plane + h * W + c0, plane + h * W + c1, padded + (h + top) * cols + c0 + left);
  return {padded, cols};
}

// V (16, C, T) for the chunk's images of x (N, C, H, W):  V[xi, c, t] = (B^T d[c, t] B)[xi], where
// d[c, t] is the 4x4 patch at (2 ty - pad_h, 2 tx - pad_w) of plane (n, c).
void transform_input(const float* x, const Chunk& chunk, int64_t C, int64_t H, int64_t W, int64_t pad_h, int64_t pad_w,
                     const TileGrid& grid, float* V) {
  const int64_t T = chunk.tiles, planes = (chunk.n1 - chunk.n0) * C;
  parallel_for(0, planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / C, c = p % C;
      // tile (ty, tx) reads padded rows 2 ty .. 2 ty + 3, columns 2 tx .. 2 tx + 3
      const PaddedPlane padded = pad_plane(x + ((chunk.n0 + n) * C + c) * H * W, H, W, pad_h, pad_w, 2 * grid.rows + 2,
                                           2 * kLanes * grid.blocks_per_row() + 2);
      float* v_first = V + c * T + n * grid.per_image();  // V[0, c, first tile of image n]
      for (int64_t ty = 0; ty < grid.rows; ++ty)
        for (int64_t tx = 0; tx < grid.cols; tx += kLanes) {
          Lanes d[16], v[16];  // d[i * 4 + j] = row 2 ty + i, column 2 (tx + k) + j for tiles k = 0..7
          for (int i = 0; i < 4; ++i) {
            const float* row = padded.row(2 * ty + i) + 2 * tx;
            load_deinterleaved(row, d[i * 4 + 0], d[i * 4 + 1]);
            load_deinterleaved(row + 2, d[i * 4 + 2], d[i * 4 + 3]);
          }
          input_transform(d, v);
          float* dst = v_first + ty * grid.cols + tx;
          const int64_t count = std::min(kLanes, grid.cols - tx);
          for (int64_t xi = 0; xi < kPositions; ++xi) store_first(dst + xi * C * T, v[xi], count);
        }
    }
  });
}

// out (N, C_out, OH, OW) for the chunk's images from M (16, C_out, T): the 2x2 tile A^T m A (+ bias),
// clipped at the bottom and right edges.
void transform_output(const float* M, const Chunk& chunk, int64_t C_out, int64_t OH, int64_t OW, const TileGrid& grid,
                      const float* bias, float* out) {
  const int64_t T = chunk.tiles, planes = (chunk.n1 - chunk.n0) * C_out;
  parallel_for(0, planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / C_out, co = p % C_out;
      float* plane = out + ((chunk.n0 + n) * C_out + co) * OH * OW;
      const float* m_first = M + co * T + n * grid.per_image();
      const Lanes b = Lanes{} + (bias ? bias[co] : 0.0f);
      for (int64_t ty = 0; ty < grid.rows; ++ty)
        for (int64_t tx = 0; tx < grid.cols; tx += kLanes) {
          Lanes m[16], y[4];
          const float* src = m_first + ty * grid.cols + tx;
          const int64_t count = std::min(kLanes, grid.cols - tx);
          for (int64_t xi = 0; xi < kPositions; ++xi) m[xi] = load_first(src + xi * C_out * T, count);
          output_transform(m, y);
          // rows 2 ty and 2 ty + 1, columns 2 tx .. 2 tx + 15 (clipped to the plane)
          const int64_t h = 2 * ty, w = 2 * tx, rows = std::min<int64_t>(2, OH - h),
                        cols = std::min(2 * kLanes, OW - w);
          for (int64_t i = 0; i < rows; ++i) {
            float* dst = plane + (h + i) * OW + w;
            if (cols == 2 * kLanes) {
              store_interleaved(dst, y[i * 2] + b, y[i * 2 + 1] + b);
            } else {
              float row[2 * kLanes];
              store_interleaved(row, y[i * 2] + b, y[i * 2 + 1] + b);
              std::copy(row, row + cols, dst);
            }
          }
        }
    }
  });
}

// Z (16, C_out, T) for the chunk's images of dy (N, C_out, OH, OW): Z[xi, co, t] = (A g A^T)[xi]
// with g the 2x2 tile of dy at (2 ty, 2 tx) (zeros past the edges).
void transform_output_grad(const float* dy, const Chunk& chunk, int64_t C_out, int64_t OH, int64_t OW,
                           const TileGrid& grid, float* Z) {
  const int64_t T = chunk.tiles, planes = (chunk.n1 - chunk.n0) * C_out;
  parallel_for(0, planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / C_out, co = p % C_out;
      const PaddedPlane padded = pad_plane(dy + ((chunk.n0 + n) * C_out + co) * OH * OW, OH, OW, 0, 0, 2 * grid.rows,
                                           2 * kLanes * grid.blocks_per_row());
      float* z_first = Z + co * T + n * grid.per_image();
      for (int64_t ty = 0; ty < grid.rows; ++ty)
        for (int64_t tx = 0; tx < grid.cols; tx += kLanes) {
          Lanes g[4], z[16];  // g[i * 2 + j] = dy row 2 ty + i, column 2 (tx + k) + j for tiles k = 0..7
          load_deinterleaved(padded.row(2 * ty) + 2 * tx, g[0], g[1]);
          load_deinterleaved(padded.row(2 * ty + 1) + 2 * tx, g[2], g[3]);
          output_grad_transform(g, z);
          float* dst = z_first + ty * grid.cols + tx;
          const int64_t count = std::min(kLanes, grid.cols - tx);
          for (int64_t xi = 0; xi < kPositions; ++xi) store_first(dst + xi * C_out * T, z[xi], count);
        }
    }
  });
}

// U (16, rows, cols) from weight (C_out, C_in, 3, 3):
//   forward:          U[xi, co, ci] = (G w[co, ci] G^T)[xi]                  rows C_out, cols C_in
//   flipped (for grad_input): U[xi, ci, co] = (G rot180(w[co, ci]) G^T)[xi]  rows C_in, cols C_out
// 8 filters at a time, those of 8 neighbouring columns, so that each store of U is contiguous.
void transform_filters(const float* weight, int64_t C_out, int64_t C_in, bool flipped, float* U) {
  const int64_t rows = flipped ? C_in : C_out, cols = flipped ? C_out : C_in;
  const int64_t column_stride = flipped ? C_in * 9 : 9;  // from filter (row, col) to (row, col + 1)
  parallel_for(0, rows, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < cols; c += kLanes) {
        const int64_t count = std::min(kLanes, cols - c);
        const float* first = weight + (flipped ? c * C_in + r : r * C_in + c) * 9;  // filter (row r, column c)
        Lanes g[9], u[16];
        for (int k = 0; k < 9; ++k)  // rot180: tap (kh, kw) = k of the turned filter is tap 8 - k
          g[k] = load_strided(first + (flipped ? 8 - k : k), column_stride, count);
        filter_transform(g, u);
        for (int64_t xi = 0; xi < kPositions; ++xi) store_first(U + (xi * rows + r) * cols + c, u[xi], count);
      }
  });
}

// A grow-only buffer per purpose, kept by the calling thread for its next call.
enum Slot { kFilters, kTilesIn, kTilesOut };
template <Slot slot>
float* buffer(int64_t count) {
  thread_local std::vector<float> data;
  if (data.size() < static_cast<size_t>(count)) data.resize(static_cast<size_t>(count));
  return data.data();
}

// Calls work(chunk, thread) for the chunks of `images` images each. With at least as many chunks as
// threads, the threads take whole chunks as they become free, in one parallel region with no
// barrier between chunks (the passes inside then run on that thread alone: parallel_for runs
// inline there, gemm() single-threaded), and `thread` is the taker's number. With fewer chunks
// they run one after the other, each pass inside using all the threads, and `thread` is -1.
template <typename Fn>
void for_each_chunk(int64_t N, int64_t images, const TileGrid& grid, Fn&& work) {
  const int64_t count = (N + images - 1) / images;
  auto chunk_at = [&](int64_t c) {
    const int64_t n0 = c * images, n1 = std::min(N, n0 + images);
    return Chunk{n0, n1, (n1 - n0) * grid.per_image()};
  };
  const int threads = num_threads();
  if (threads > 1 && count >= threads && !omp_in_parallel()) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t c = 0; c < count; ++c) work(chunk_at(c), omp_get_thread_num());
    return;
  }
  for (int64_t c = 0; c < count; ++c) work(chunk_at(c), -1);
}

// out (N, C_out, OH, OW) = the correlation of in (N, C_in, H, W), padded by (pad_h, pad_w) (which
// may be negative: cropped), with the filters whose transform is U (16, C_out, C_in); + bias.
void correlate(const float* in, int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t pad_h, int64_t pad_w,
               const float* U, const float* bias, float* out, int64_t C_out, int64_t OH, int64_t OW) {
  const TileGrid grid = grid_for(OH, OW);
  const int64_t images = images_per_chunk(kPositions * (C_in + C_out) * grid.per_image(), N);
  for_each_chunk(N, images, grid, [&](const Chunk& chunk, int) {
    const int64_t T = chunk.tiles;
    float* V = buffer<kTilesIn>(kPositions * C_in * T);  // the running thread's buffers
    float* M = buffer<kTilesOut>(kPositions * C_out * T);
    transform_input(in, chunk, C_in, H, W, pad_h, pad_w, grid, V);
    parallel_for(0, kPositions, 1, [&](int64_t x0, int64_t x1) {
      for (int64_t xi = x0; xi < x1; ++xi)  // M[xi] (C_out, T) = U[xi] (C_out, C_in) @ V[xi] (C_in, T)
        gemm(C_out, T, C_in, {U + xi * C_out * C_in, C_in, 1}, {V + xi * C_in * T, T, 1}, M + xi * C_out * T);
    });
    transform_output(M, chunk, C_out, OH, OW, grid, bias, out);
  });
}

}  // namespace

void winograd_conv2d(const float* input, const float* weight, const float* bias, float* out, const WinogradShape& s) {
  float* U = buffer<kFilters>(kPositions * s.C_out * s.C_in);
  transform_filters(weight, s.C_out, s.C_in, false, U);
  correlate(input, s.N, s.C_in, s.H, s.W, s.pad_h, s.pad_w, U, bias, out, s.C_out, s.OH, s.OW);
}

// grad_input = the correlation of grad_out (N, C_out, OH, OW), padded by 2 - pad, with the turned,
// transposed filters; its output size is H = OH + 2 (2 - pad_h) - 2 (as it must be).
void winograd_conv2d_backward_input(const float* grad_out, const float* weight, float* grad_input,
                                    const WinogradShape& s) {
  float* U = buffer<kFilters>(kPositions * s.C_out * s.C_in);
  transform_filters(weight, s.C_out, s.C_in, true, U);
  correlate(grad_out, s.N, s.C_out, s.OH, s.OW, 2 - s.pad_h, 2 - s.pad_w, U, nullptr, grad_input, s.C_in, s.H, s.W);
}

// dU[xi] (C_out, C_in) = sum over chunks of Z[xi] (C_out, T) @ V[xi]^T (T, C_in), then dW = G^T dU G.
// When the threads take whole chunks, each sums its chunks into its own dU, and the filter-gradient
// transform at the end adds those up.
void winograd_conv2d_backward_weight(const float* grad_out, const float* input, float* grad_weight,
                                     const WinogradShape& s) {
  const TileGrid grid = grid_for(s.OH, s.OW);
  const int64_t images = images_per_chunk(kPositions * (s.C_in + s.C_out) * grid.per_image(), s.N);
  const int64_t filter_size = s.C_out * s.C_in, sum_size = kPositions * filter_size;
  const int threads = num_threads();
  // sums: dU of thread t at sums + t * sum_size, or one shared dU (slot `threads`) for chunks run in turn
  float* sums = buffer<kFilters>((threads + 1) * sum_size);
  std::vector<uint8_t> started(static_cast<size_t>(threads + 1), 0);  // has that dU been written yet?
  for_each_chunk(s.N, images, grid, [&](const Chunk& chunk, int thread) {
    const int64_t T = chunk.tiles, slot = thread < 0 ? threads : thread;
    float* V = buffer<kTilesIn>(kPositions * s.C_in * T);
    float* Z = buffer<kTilesOut>(kPositions * s.C_out * T);
    transform_input(input, chunk, s.C_in, s.H, s.W, s.pad_h, s.pad_w, grid, V);
    transform_output_grad(grad_out, chunk, s.C_out, s.OH, s.OW, grid, Z);
    const bool first = !started[static_cast<size_t>(slot)];
    started[static_cast<size_t>(slot)] = 1;
    float* dU = sums + slot * sum_size;
    parallel_for(0, kPositions, 1, [&](int64_t x0, int64_t x1) {
      thread_local std::vector<float> product;  // this chunk's dU[xi], added to the sum of the earlier ones
      if (!first && product.size() < static_cast<size_t>(filter_size)) product.resize(static_cast<size_t>(filter_size));
      for (int64_t xi = x0; xi < x1; ++xi) {
        float* sum = dU + xi * filter_size;
        float* target = first ? sum : product.data();
        gemm(s.C_out, s.C_in, T, {Z + xi * s.C_out * T, T, 1}, {V + xi * s.C_in * T, 1, T}, target);
        if (!first)
          for (int64_t j = 0; j < filter_size; ++j) sum[j] += product[j];
      }
    });
  });
  std::vector<const float*> written;  // the dU sums to add up
  for (int slot = 0; slot <= threads; ++slot)
    if (started[static_cast<size_t>(slot)]) written.push_back(sums + slot * sum_size);
  parallel_for(0, s.C_out, 8, [&](int64_t co0, int64_t co1) {
    for (int64_t co = co0; co < co1; ++co)
      for (int64_t ci = 0; ci < s.C_in; ci += kLanes) {  // the filters (co, ci .. ci + 7)
        const int64_t count = std::min(kLanes, s.C_in - ci);
        Lanes z[16], w[9];
        for (int64_t xi = 0; xi < kPositions; ++xi) {
          const int64_t at = xi * filter_size + co * s.C_in + ci;
          z[xi] = load_first(written[0] + at, count);
          for (size_t t = 1; t < written.size(); ++t) z[xi] += load_first(written[t] + at, count);
        }
        filter_grad_transform(z, w);
        float* dst = grad_weight + (co * s.C_in + ci) * 9;
        for (int64_t l = 0; l < count; ++l)
          for (int k = 0; k < 9; ++k) dst[l * 9 + k] = w[k][l];
      }
  });
}

}  // namespace ember::cpu
