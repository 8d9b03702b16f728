// The `packed` GEMM route: C (M,N) = A (M,K) @ B (K,N) in float32, written out by hand.
//
// The recipe is Goto & van de Geijn's ("Anatomy of High-Performance Matrix Multiplication", 2008)
// as BLIS names it. Almost all the time goes into a tiny *micro-kernel* that keeps an MR x NR tile
// of C in registers and adds one rank-1 update per k:  C_tile += A[:, k] (MR) x B[k, :] (NR).
// Everything else exists to feed it from the fastest cache: A and B are cut into blocks that fit
// the caches and *packed* (copied) into the exact order the kernel reads them, so its loads are
// contiguous, aligned, and never miss.
//
// Loop nest (every loop with the shapes it walks; MR=6, NR=16, KC=256, MC=144, NC=4080 here):
//
//   for jc in [0, N) step NC:                         column block   C[:, jc:+nc]    B[:, jc:+nc]
//     for pc in [0, K) step KC:                       depth block    A[:, pc:+kc]    B[pc:+kc, jc:+nc]
//       pack B[pc:+kc, jc:+nc] -> Bp                  nc/NR panels of (kc, NR), shared by threads (L3)
//       for ic in [0, M) step MC:       (threads)     row block      A[ic:+mc, pc:+kc]
//         pack A[ic:+mc, pc:+kc] -> Ap                mc/MR panels of (MR, kc), one per thread (L2)
//         for jr in [0, nc) step NR:                  one B panel (kc, NR) = 16 KiB, stays in L1
//           for ir in [0, mc) step MR:                one A panel (MR, kc) = 6 KiB, streamed from L2
//             C[ic+ir:+MR, jc+jr:+NR] (+)= Ap panel (MR, kc) @ Bp panel (kc, NR)    micro-kernel
//
// The first depth block (pc == 0) stores into C, the later ones add to it, so C needs no zeroing.
// Tiles on the right and bottom edges are computed into a local MR x NR tile from zero-padded
// panels, and only their valid part is copied to C.
//
// Threads split the rows of C (the ic loop): each packs and keeps its own A block in its own L2,
// while all read the one packed B block. When C has too few rows to share, they split the
// columns (the jr loop) instead. One parallel region covers the whole nest; the threads meet at a
// barrier after packing each B block and again before the next one overwrites it.
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
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k)
        sum += double(A.data[i * A.row_stride + k * A.col_stride]) * double(B.data[k * B.row_stride + j * B.col_stride]);
      C[i * N + j] = float(sum);
    }
}

#if EMBER_GEMM_PACKED_KERNEL
namespace {

// Micro-tile MR x NR = 6 x 16: 6 rows x 2 ymm registers (8 floats each) = 12 accumulators, plus 2
// registers for a row of B and 1 for a broadcast element of A: 15 of the 16 ymm registers. Per k
// the kernel issues 12 FMAs against 2 loads + 6 broadcasts, so the two FMA units (not the loads)
// are the bottleneck, and 12 independent accumulators cover the FMA latency (4 cycles x 2 units).
constexpr int64_t MR = 6;
constexpr int64_t NR = 16;

// Cache blocks for this CPU (AMD Zen 3: 32 KiB L1d, 512 KiB L2 per core, 32 MiB shared L3),
// the same choice as BLIS's sgemm on Zen:
//  - KC = 256: a B panel (KC x NR floats = 16 KiB) fills half of L1 and stays there while the
//    kernel walks every A panel of the block; the A panel (MR x KC = 6 KiB) streams next to it.
//  - MC = 144 (a multiple of MR): the packed A block (MC x KC = 144 KiB) stays in L2 across the
//    whole jr loop, with room left for the B panels and C tiles passing through.
//  - NC = 4080 (a multiple of NR): the packed B block (KC x NC = 4 MiB) lives in the shared L3.
// Larger K (fewer passes over C) and larger MC (fewer passes over B) help until the blocks stop
// fitting; bench/gemm_sweep.cpp measures the result.
constexpr int64_t KC = 256;
constexpr int64_t MC = 144;
constexpr int64_t NC = 4080;
static_assert(MC % MR == 0 && NC % NR == 0, "blocks must hold whole panels");

// Below this many multiply-adds (M*N*K) a GEMM runs on one thread: starting the others costs more.
constexpr int64_t kMinParallelWork = 64 * 64 * 64;

constexpr int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// Pack A[0:mc, 0:kc] (a points at its first element) into mc/MR panels of (MR, kc): panel r holds
// rows r*MR .. r*MR+MR-1, stored k-major, ap[r*MR*kc + k*MR + i] = A[r*MR + i, k]. Rows past mc
// are zeros, so the kernel can always compute a whole MR-row tile.
void pack_a(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* ap) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR, ap += MR * kc) {
    const int64_t rows = std::min(MR, mc - i0);
    const float* src = a + i0 * rs;
    if (cs == 1) {  // row-major: each row is contiguous in k
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t k = 0; k < kc; ++k) ap[k * MR + i] = src[i * rs + k];
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
  // column-major: read each column contiguously in k
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t k = 0; k < kc; ++k) bp[k * NR + j] = b[j * cs + k];
  for (int64_t j = cols; j < NR; ++j)
    for (int64_t k = 0; k < kc; ++k) bp[k * NR + j] = 0.0f;
}

// The micro-kernel: C_tile (MR, NR; row stride ldc) = [C_tile +] Ap panel (MR, kc) @ Bp panel (kc, NR).
// acc[i][h] holds C_tile[i, 8h : 8h+8]. For each k: load B[k, 0:16] into two registers, then for
// each of the 6 rows broadcast A[i, k] and do acc[i][h] += A[i, k] * B[k, 8h:8h+8].
void kernel_6x16(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* __restrict c,
                 int64_t ldc, bool accumulate) {
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

  // Split the threads into a grid: tm groups over the rows (MR panels) of C, tn over the columns
  // (NR panels). Prefer rows (each thread then packs only its own A), as long as every thread
  // gets a few row panels.
  const int64_t m_panels = (M + MR - 1) / MR;
  int tm = threads;
  while (tm > 1 && (threads % tm != 0 || m_panels < 4 * tm)) --tm;
  const int tn = threads / tm;

  // Scratch: the shared packed B block, then one packed A block per thread.
  const int64_t kc_max = std::min(K, KC);
  const int64_t b_size = kc_max * round_up(std::min(N, NC), NR);
  const int64_t a_size = round_up(kc_max * round_up(std::min(round_up(M, MR * tm) / tm, MC), MR), 16);
  float* buffer = scratch(b_size + threads * a_size);
  if (!buffer) throw std::bad_alloc();
  float* const bp = buffer;

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num();
    float* const ap = buffer + b_size + t * a_size;
    // This thread's share: rows [i_begin, i_end) of C and, within each column block, the B panels
    // [jp_begin, jp_end) of it (whole panels, so every thread's columns start on a panel).
    const int tr = t / tn, tc = t % tn;
    const int64_t i_begin = std::min(M, m_panels * tr / tm * MR), i_end = std::min(M, m_panels * (tr + 1) / tm * MR);

    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min(NC, N - jc), n_panels = (nc + NR - 1) / NR;
      const int64_t jp_begin = n_panels * tc / tn, jp_end = n_panels * (tc + 1) / tn;
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        const bool accumulate = pc > 0;

        // Pack B[pc:+kc, jc:+nc] into Bp, the panels shared out among the threads.
#pragma omp for schedule(static)
        for (int64_t jp = 0; jp < n_panels; ++jp) {
          const int64_t j = jp * NR;
          pack_b_panel(kc, std::min(NR, nc - j), B.data + pc * B.row_stride + (jc + j) * B.col_stride,
                       B.row_stride, B.col_stride, bp + jp * NR * kc);
        }  // (implicit barrier: Bp is complete)

        for (int64_t ic = i_begin; ic < i_end; ic += MC) {
          const int64_t mc = std::min(MC, i_end - ic);
          pack_a(mc, kc, A.data + ic * A.row_stride + pc * A.col_stride, A.row_stride, A.col_stride, ap);
          for (int64_t jp = jp_begin; jp < jp_end; ++jp) {
            const int64_t jr = jp * NR;
            for (int64_t ir = 0; ir < mc; ir += MR)
              tile(kc, ap + ir * kc, bp + jp * NR * kc, C + (ic + ir) * N + jc + jr, N, std::min(MR, mc - ir),
                   std::min(NR, nc - jr), accumulate);
          }
        }
#pragma omp barrier  // everyone is done with Bp before the next block overwrites it
      }
    }
  }
#endif
}

}  // namespace ember
