// The `packed` GEMM route: C (M,N) = A (M,K) @ B (K,N) in float32, written out by hand.
//
// The recipe is Goto & van de Geijn's ("Anatomy of High-Performance Matrix Multiplication", 2008)
// as BLIS names it. Almost all the time goes into a tiny *micro-kernel* that keeps an MR x NR tile
// of C in registers and adds one rank-1 update per k:  C_tile += A[:, k] (MR) x B[k, :] (NR).
// Everything else exists to feed it from the fastest cache: A and B are cut into blocks that fit
// the caches and *packed* (copied) into the exact order the kernel reads them, so its loads are
// contiguous, aligned, and never miss.
//
// Loop nest (every loop with the shapes it walks; MR=6, NR=16, KC=384, MC=120, NC=4080 here):
//
//   for jc in [0, N) step NC:                         column block   C[:, jc:+nc]    B[:, jc:+nc]
//     for pc in [0, K) step KC:                       depth block    A[:, pc:+kc]    B[pc:+kc, jc:+nc]
//       pack B[pc:+kc, jc:+nc] -> Bp                  nc/NR panels of (kc, NR), shared (L3)
//       for ic in [0, M) step MC:       (threads)     row block      A[ic:+mc, pc:+kc]
//         pack A[ic:+mc, pc:+kc] -> Ap                mc/MR panels of (MR, kc), per thread (L2)
//         for jr in [0, nc) step NR:                  one B panel (kc, NR) = 24 KiB, stays in L1
//           for ir in [0, mc) step MR:                one A panel (MR, kc) = 9 KiB, streamed from L2
//             C[ic+ir:+MR, jc+jr:+NR] (+)= Ap panel (MR, kc) @ Bp panel (kc, NR)    micro-kernel
//
// Flops per byte moved: the kernel does 2*MR*NR = 192 flops per k for MR + NR = 22 floats read;
// each B panel, once in L1, serves mc/MR kernel calls; each A block, once in L2, serves all nc/NR
// B panels; each C tile is read and written once per depth block.
//
// The first depth block (pc == 0) stores into C, the later ones add to it, so C needs no zeroing.
// Tiles on the right and bottom edges are computed into a local MR x NR tile from zero-padded
// panels, and only their valid part is copied to C. The blocks are evened out: K = 2048 runs as
// 6 depth blocks of 344 (the last 328), not 5 of 384 and one of 128.
//
// Threads: one parallel region covers the whole nest. All threads pack B together, then take row
// blocks (the ic loop) one at a time, as each becomes free: a thread packs its row block of A
// into its own buffer (its own L2) and multiplies it by the shared Bp. When C has too few rows to
// share, each thread takes a chunk of the columns (the jr loop) instead. B blocks alternate
// between two buffers, so one barrier per block (after packing B) is enough: a thread that
// passes it knows everyone is done with the block before, whose buffer the next block reuses.
//
// The micro-kernel needs AVX2 + FMA (the build uses -march=native). Without them this route
// forwards to Eigen's own GEMM (the `eigen` route), which is portable.
#include "tensor/cpu/gemm_packed.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "tensor/parallel.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define EMBER_GEMM_PACKED_KERNEL 1
#else
#define EMBER_GEMM_PACKED_KERNEL 0
#endif

namespace ember {

void gemm_reference_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C) {
  auto a = [&](int64_t i, int64_t k) { return double(A.data[i * A.row_stride + k * A.col_stride]); };
  auto b = [&](int64_t k, int64_t j) { return double(B.data[k * B.row_stride + j * B.col_stride]); };
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += a(i, k) * b(k, j);
      C[i * N + j] = float(sum);
    }
}

#if EMBER_GEMM_PACKED_KERNEL
namespace {

// Micro-tile MR x NR = 6 x 16: 6 rows x 2 ymm registers (8 floats each) = 12 accumulators, plus 2
// registers for a row of B and 1 for a broadcast element of A: 15 of the 16 ymm registers. Per k
// the kernel issues 12 FMAs against 2 loads + 6 broadcasts, so the two FMA units (not the loads)
// set the pace, and the 12 independent sums keep them busy despite the FMA latency (2 units x
// 4 cycles: at least 8 FMAs must be in flight). Alone on one core it runs at ~95% of FMA peak.
constexpr int64_t MR = 6;
constexpr int64_t NR = 16;

// Cache blocks for this CPU (AMD Zen 3: 32 KiB L1d and 512 KiB L2 per core, 32 MiB shared L3):
//  - KC = 384: a B panel (KC x NR floats = 24 KiB) takes 3/4 of L1 and stays there while the
//    kernel walks every A panel of the block; the A panel (MR x KC = 9 KiB) streams in from L2.
//    A larger KC means fewer passes over C (each C tile is loaded and stored K/KC times) and
//    longer kernel calls; a smaller one keeps more of L1 free.
//  - MC = 120 (a multiple of MR): the packed A block (MC x KC = 180 KiB) stays in L2, about a
//    third of it, across the whole jr loop, leaving room for the B panels and C tiles passing by.
//  - NC = 4080 (a multiple of NR): a packed B block (KC x NC, at most 6 MiB; two of them, see
//    below) lives in the shared L3.
// Measured at N = 2048 on 2 threads, (KC, MC) = (256, 144) (BLIS's choice for Zen) and (512, 96)
// come within a few per cent of these; the blocks are then evened out (split() below).
constexpr int64_t KC = 384;
constexpr int64_t MC = 120;
constexpr int64_t NC = 4080;
static_assert(MC % MR == 0 && NC % NR == 0, "blocks must hold whole panels");

// Below this many multiply-adds (M*N*K) a GEMM runs on one thread: starting the others costs more.
constexpr int64_t kMinParallelWork = 64 * 64 * 64;

constexpr int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }
constexpr int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

// [0, n) cut into `count` blocks of `size` (the last may be shorter): as few blocks as keep each
// at most max_size, rounded up to a multiple of `multiple` blocks (as far as there are units to
// share), every size a multiple of `unit`. Equal blocks avoid a sliver at the end: K = 2048 with
// KC = 384 gives 6 blocks of 344 (the last 328), not 5 of 384 and one of 128.
struct Blocks {
  int64_t count, size;
};
Blocks split(int64_t n, int64_t max_size, int64_t unit, int64_t multiple = 1) {
  const int64_t count = std::min(round_up(ceil_div(n, max_size), multiple), ceil_div(n, unit));
  const int64_t size = round_up(ceil_div(n, count), unit);
  return {ceil_div(n, size), size};
}

// The 8x8 transpose of rows r[0..7]: afterwards r[k] holds column k, (r0[k], r1[k], ..., r7[k]).
inline void transpose_8x8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {  // interleave row pairs: t[2i] = (r[2i][0] r[2i+1][0] r[2i][1] r[2i+1][1] | ..4, 5)
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {  // pairs of pairs: s[4i + c] holds columns c and c + 4 of rows 4i .. 4i+3
    s[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    s[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    s[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    s[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int c = 0; c < 4; ++c) {  // join the 128-bit halves of rows 0..3 and 4..7
    r[c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x20);
    r[c + 4] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x31);
  }
}

// Pack A[0:mc, 0:kc] (a points at its first element) into mc/MR panels of (MR, kc): panel r holds
// rows r*MR .. r*MR+MR-1, stored k-major, ap[r*MR*kc + k*MR + i] = A[r*MR + i, k]. Rows past mc
// are zeros, so the kernel can always compute a whole MR-row tile.
void pack_a(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* ap) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR, ap += MR * kc) {
    const int64_t rows = std::min(MR, mc - i0);
    const float* src = a + i0 * rs;
    if (cs == 1) {  // row-major: each row is contiguous in k; a transpose, 8 k at a time
      int64_t k0 = 0;
      if (rows == MR)
        for (; k0 + 8 <= kc; k0 += 8) {
          __m256 r[8];
          for (int64_t i = 0; i < MR; ++i) r[i] = _mm256_loadu_ps(src + i * rs + k0);
          r[6] = r[7] = _mm256_setzero_ps();
          transpose_8x8(r);                  // r[k] = (A[0..5, k0 + k], 0, 0)
          for (int64_t k = 0; k < 8; ++k) {  // the MR = 6 floats of column k: 4 + 2
            float* dst = ap + (k0 + k) * MR;
            _mm_storeu_ps(dst, _mm256_castps256_ps128(r[k]));
            _mm_storel_pi(reinterpret_cast<__m64*>(dst + 4), _mm256_extractf128_ps(r[k], 1));
          }
        }
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t k = k0; k < kc; ++k) ap[k * MR + i] = src[i * rs + k];
    } else {  // column-major: the MR rows of one k are contiguous
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t i = 0; i < rows; ++i) ap[k * MR + i] = src[k * cs + i];
    }
    for (int64_t i = rows; i < MR; ++i)
      for (int64_t k = 0; k < kc; ++k) ap[k * MR + i] = 0.0f;
  }
}

// Pack one B panel, B[0:kc, 0:cols] with cols <= NR (b points at its first element), into (kc, NR)
// row by row: bp[k*NR + j] = B[k, j]. Columns past cols are zeros. Each row is 64 bytes: one cache
// line, two aligned ymm loads for the kernel.
void pack_b_panel(int64_t kc, int64_t cols, const float* b, int64_t rs, int64_t cs, float* bp) {
  if (cs == 1 && cols == NR) {  // row-major, full panel: copy 16 contiguous floats per row
    for (int64_t k = 0; k < kc; ++k) std::memcpy(bp + k * NR, b + k * rs, NR * sizeof(float));
    return;
  }
  if (cs == 1) {
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t j = 0; j < NR; ++j) bp[k * NR + j] = j < cols ? b[k * rs + j] : 0.0f;
    return;
  }
  // column-major: read each column contiguously in k; full panels as two 8x8 transposes per 8 k
  int64_t k0 = 0;
  if (cols == NR)
    for (; k0 + 8 <= kc; k0 += 8)
      for (int64_t half = 0; half < 2; ++half) {
        __m256 r[8];
        for (int64_t j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(b + (half * 8 + j) * cs + k0);
        transpose_8x8(r);  // r[k] = B[k0 + k, half*8 .. half*8 + 7]
        for (int64_t k = 0; k < 8; ++k) _mm256_store_ps(bp + (k0 + k) * NR + half * 8, r[k]);
      }
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t k = k0; k < kc; ++k) bp[k * NR + j] = b[j * cs + k];
  for (int64_t j = cols; j < NR; ++j)
    for (int64_t k = 0; k < kc; ++k) bp[k * NR + j] = 0.0f;
}

// The micro-kernel: C_tile (MR, NR; row stride ldc) = [C_tile +] Ap panel (MR, kc) @ Bp panel (kc, NR).
// acc[i][h] holds C_tile[i, 8h : 8h+8]. For each k: load B[k, 0:16] into two registers, then for
// each of the 6 rows broadcast A[i, k] and do acc[i][h] += A[i, k] * B[k, 8h:8h+8].
void kernel_6x16(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* __restrict c, int64_t ldc,
                 bool accumulate) {
  __m256 acc[MR][2];
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int i = 0; i < MR; ++i) {  // start fetching the C tile now; it is needed at the end
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(ap + i);
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
    }
    ap += MR;
    bp += NR;
  }
  for (int i = 0; i < MR; ++i) {
    float* row = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(row));
      acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(row + 8));
    }
    _mm256_storeu_ps(row, acc[i][0]);
    _mm256_storeu_ps(row + 8, acc[i][1]);
  }
}

// One tile of C, C[0:rows, 0:cols] with rows <= MR and cols <= NR: whole tiles go straight to C;
// edge tiles are computed into a local MR x NR tile and only the valid part is stored or added.
void tile(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t rows, int64_t cols,
          bool accumulate) {
  if (rows == MR && cols == NR) return kernel_6x16(kc, ap, bp, c, ldc, accumulate);
  alignas(32) float local[MR * NR];
  kernel_6x16(kc, ap, bp, local, NR, false);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + local[i * NR + j];
}

// A 64-byte aligned scratch buffer that grows on demand and is reused by later calls from the same
// thread, so repeated GEMMs do not pay for fresh pages each time.
float* scratch(size_t floats) {
  struct Buffer {
    float* data = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(data); }
  };
  static thread_local Buffer buffer;
  if (buffer.size < floats) {
    std::free(buffer.data);
    buffer.data = static_cast<float*>(std::aligned_alloc(64, round_up(floats * sizeof(float), 64)));
    buffer.size = buffer.data ? floats : 0;
  }
  return buffer.data;
}

}  // namespace
#endif  // EMBER_GEMM_PACKED_KERNEL

void gemm_packed_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // an empty sum: C = 0
    std::fill(C, C + M * N, 0.0f);
    return;
  }
#if !EMBER_GEMM_PACKED_KERNEL
  // No AVX2/FMA at compile time: use the portable route rather than a slow scalar kernel.
  gemm_routes::eigen_f32(M, N, K, A, B, C);
#else
  int threads = omp_in_parallel() ? 1 : num_threads();
  if (M * N * K < kMinParallelWork) threads = 1;

  // Blocks of equal size: K in blocks of at most KC, N of at most NC, M of at most MC rows.
  const Blocks k_blocks = split(K, KC, 8), n_blocks = split(N, NC, NR);
  // The threads share the work of each (jc, pc) block as items: a row block of C (with its own
  // packed A) times one column chunk. Enough rows: whole row blocks, their count a multiple of
  // the thread count so that all finish together; too few rows: one chunk of columns per thread.
  const bool split_rows = M >= 4 * MR * threads;
  const Blocks m_blocks = split(M, MC, MR, split_rows ? threads : 1);
  const int64_t col_chunks = split_rows ? 1 : threads, items = m_blocks.count * col_chunks;

  // Scratch: two packed B blocks (block b goes into buffer b % 2), then one packed A block per thread.
  const int64_t b_size = k_blocks.size * n_blocks.size, a_size = round_up(k_blocks.size * m_blocks.size, 16);
  const int64_t b_buffers = k_blocks.count * n_blocks.count > 1 ? 2 : 1;
  float* const buffer = scratch(b_buffers * b_size + threads * a_size);
  if (!buffer) throw std::bad_alloc();

  // Run by every thread of the team: the `omp for` loops inside share out their iterations (with
  // a team of one, or none, they run them all).
  auto run = [&](int thread) {
    float* const ap = buffer + b_buffers * b_size + thread * a_size;
    int64_t block = 0;
    for (int64_t jc = 0; jc < N; jc += n_blocks.size) {
      const int64_t nc = std::min(n_blocks.size, N - jc), n_panels = (nc + NR - 1) / NR;
      for (int64_t pc = 0; pc < K; pc += k_blocks.size, ++block) {
        const int64_t kc = std::min(k_blocks.size, K - pc);
        const bool accumulate = pc > 0;  // the first depth block stores into C, the others add
        float* const bp = buffer + (block % 2) * b_size;

        // Pack B[pc:+kc, jc:+nc] into Bp, its panels shared out among the threads. The barrier at
        // the end of this loop makes Bp complete for everyone; it also means every thread has
        // finished the previous block, so nobody still reads the buffer that the next one fills.
#pragma omp for schedule(dynamic, 4)
        for (int64_t jp = 0; jp < n_panels; ++jp) {
          const int64_t j = jp * NR;
          pack_b_panel(kc, std::min(NR, nc - j), B.data + pc * B.row_stride + (jc + j) * B.col_stride, B.row_stride,
                       B.col_stride, bp + jp * NR * kc);
        }

        // C[:, jc:+nc] (+)= A[:, pc:+kc] @ Bp, item by item, each to whichever thread is free.
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t item = 0; item < items; ++item) {
          const int64_t ic = item / col_chunks * m_blocks.size, mc = std::min(m_blocks.size, M - ic);
          const int64_t chunk = item % col_chunks;
          pack_a(mc, kc, A.data + ic * A.row_stride + pc * A.col_stride, A.row_stride, A.col_stride, ap);
          for (int64_t jp = n_panels * chunk / col_chunks; jp < n_panels * (chunk + 1) / col_chunks; ++jp) {
            const int64_t jr = jp * NR;
            for (int64_t ir = 0; ir < mc; ir += MR)
              tile(kc, ap + ir * kc, bp + jp * NR * kc, C + (ic + ir) * N + jc + jr, N, std::min(MR, mc - ir),
                   std::min(NR, nc - jr), accumulate);
          }
        }
      }
    }
  };
  // One thread outside any parallel region: run here, no team to start (small products stay
  // cheap). Inside someone else's parallel region the `omp for` loops would bind to that team,
  // so there we start a team of our own, of one thread.
  if (threads == 1 && !omp_in_parallel()) return run(0);
#pragma omp parallel num_threads(threads)
  run(omp_get_thread_num());
#endif
}

}  // namespace ember
