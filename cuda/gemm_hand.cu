// Ember's own GEMM on the GPU: C (M,N) = A (M,K) @ B (K,N), batched (argument convention in
// gemm_hand.h). Three kernels, from the one to read first to the one that is fast:
//
// 1. gemm_simple_kernel (float32 and float64): one thread per element of C, a plain loop over k.
//    Every product reads A and B straight from global memory: 2 loads per FMA, so it is bound by
//    memory (the caches help, but it reaches a few percent of the GPU's FMA throughput).
//
// 2. gemm_tiled16_kernel (float64): 16x16 threads compute a 16x16 tile of C; the block walks along
//    K in steps of 16, staging a 16x16 piece of A and one of B in shared memory, so every value read
//    from global memory is used 16 times. Correct for any size; float64 only needs to be right.
//
// 3. sgemm_tiled_kernel (float32, the one matmul uses): the classic register-blocked SGEMM.
//
//    Block tile 128 x 128 of C, 256 threads; K in steps of BK = 8.
//
//                 B tile (BK x 128)                    per step, each thread:
//                 +--------------+                       - loads 4 values of A and 4 of B from
//                 |   Bs[k][n]   |                         global memory (one float4 each),
//                 +--------------+                       - reads 8 values of A and 8 of B from
//     A tile      +--------------+                         shared memory per k (4 float4),
//   (128 x BK)    |              |                       - does 8 x 8 = 64 FMAs per k: the outer
//   stored as     |   C tile     |                         product of its A column piece and
//   As[k][m]      |  128 x 128   |                         its B row piece.
//   (transposed)  |              |
//                 +--------------+
//
//    Thread t is (ty, tx) = (t / 16, t % 16) in a 16 x 16 grid. It owns 8 x 8 outputs, as four
//    4 x 4 pieces, one in each quarter of the tile:
//
//            cols tx*4 .. +3        cols 64 + tx*4 .. +3
//        rows ty*4 .. +3       acc[0..3][0..3]    acc[0..3][4..7]
//        rows 64 + ty*4 .. +3  acc[4..7][0..3]    acc[4..7][4..7]
//
//    Splitting in quarters (instead of one 8 x 8 square) makes the 16 threads of a half-warp read
//    16 consecutive float4 from shared memory (no bank conflicts) and store 16 consecutive float4
//    to C (coalesced).
//
//    Registers per thread: acc[8][8] (64 floats, the running sums), a[8] and b[8] (the fragments
//    of the current k), and 4 + 4 floats of the next tile in flight (see double buffering below).
//
//    Loading a tile from global memory. An operand is "K-contiguous" when consecutive k are
//    adjacent in memory (A row-major; B stored (N,K), the x @ W^T of a Linear layer) and
//    "MN-contiguous" otherwise (B row-major; A stored (K,M), the x^T @ g of a weight gradient).
//      K-contiguous:  the 128 rows of the tile have 8 adjacent k each: thread t loads row t / 2,
//                     k = (t % 2) * 4 .. +3 (one float4) and writes the 4 values down a column of
//                     the shared tile (this is where A's tile gets transposed).
//      MN-contiguous: the 8 k of the tile have 128 adjacent rows each: thread t loads k = t / 32,
//                     rows (t % 32) * 4 .. +3 and writes them along a row of the shared tile.
//    Either way a warp reads whole 32-byte sectors, and the shared tile is laid out [k][row], so the
//    inner loop reads it along rows. Rows are padded to 132 floats, which keeps the transposing
//    stores free of bank conflicts. Values outside the matrix are loaded as 0, so any M, N, K work;
//    float4 loads are used when the operand is 16-byte aligned (pointer, ld and batch stride), and
//    scalar loads otherwise and at the edges. Stores to C check bounds the same way.
//
//    Double buffering: two copies of each shared tile. While the threads multiply tile i from one
//    copy, tile i+1 is already on its way from global memory into registers; after the multiply it is
//    written to the other copy, and one __syncthreads per step separates the steps.
//
//    Block order: consecutive blocks walk down a group of 8 tile rows before moving right (the
//    "grouped" order), so the blocks on the GPU at one time share A and B tiles in the L2 cache.
//
//    Expected speed and limits: per k, a thread issues 4 shared loads for 64 FMAs, so the FMA pipes
//    (not shared memory, not DRAM: each 8 KB loaded per step feeds 262,144 flops) should be the
//    bound, at about 128 registers per thread (2 blocks = 16 warps per SM). What remains against
//    cuBLAS: no tensor cores (cuBLAS uses none either in FP32 mode), cuBLAS's hand-scheduled SASS,
//    one __syncthreads per 512 FMAs, and partial tiles at the edges when sizes are not multiples
//    of 128. The target on an H100 is at least 60% of cuBLAS FP32 at 4096^3.
//
// Batches: blockIdx.z is the batch index (at most 65535 per launch; the launcher loops beyond).
#include "cuda/check.h"
#include "cuda/gemm_hand.h"
#include "tensor/error.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <string>

namespace ember::cuda {

// Where element (row, col) of an operand lives: row * row_stride + col * col_stride, from the
// (trans, ld) convention of gemm_hand.h. A is (M,K), B is (K,N).
struct MatrixStrides {
  int64_t row, col;
};
__host__ __device__ inline MatrixStrides strides_of(bool transposed, int64_t ld) {
  return transposed ? MatrixStrides{1, ld} : MatrixStrides{ld, 1};
}

// ---- 1. the simple kernel --------------------------------------------------------------------------
// c[z](m, n) = sum_k a[z](m, k) * b[z](k, n); thread i of batch z computes element i = m * N + n,
// so neighbouring threads read neighbouring columns of B.
template <typename T>
__global__ void gemm_simple_kernel(int M, int N, int K, const T* __restrict__ a, MatrixStrides sa, int64_t stride_a,
                                   const T* __restrict__ b, MatrixStrides sb, int64_t stride_b, T* __restrict__ c,
                                   int64_t batch0) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<int64_t>(M) * N) return;
  const int64_t z = batch0 + blockIdx.z;
  const int m = static_cast<int>(i / N), n = static_cast<int>(i % N);
  const T* a_row = a + z * stride_a + m * sa.row;  // a_row[k * sa.col] = A(m, k)
  const T* b_col = b + z * stride_b + n * sb.col;  // b_col[k * sb.row] = B(k, n)
  T sum = 0;
  for (int k = 0; k < K; ++k) sum += a_row[k * sa.col] * b_col[k * sb.row];
  c[z * M * N + i] = sum;
}

// ---- 2. float64: 16 x 16 tiles in shared memory ----------------------------------------------------
// Block (16, 16) computes the C tile at tile row blockIdx.x / tiles_n, tile column blockIdx.x % tiles_n.
// Thread (tx, ty) loads A(m, k0 + tx) and B(k0 + ty, n) per step and owns C(m, n),
// m = tile row * 16 + ty, n = tile column * 16 + tx.
constexpr int kSmallTile = 16;

template <typename T>
__global__ void gemm_tiled16_kernel(int M, int N, int K, const T* __restrict__ a, MatrixStrides sa, int64_t stride_a,
                                    const T* __restrict__ b, MatrixStrides sb, int64_t stride_b, T* __restrict__ c,
                                    int64_t batch0) {
  __shared__ T a_tile[kSmallTile][kSmallTile];  // a_tile[ty][kk] = A(m of row ty, k0 + kk)
  __shared__ T b_tile[kSmallTile][kSmallTile];  // b_tile[kk][tx] = B(k0 + kk, n of column tx)
  const int tiles_n = (N + kSmallTile - 1) / kSmallTile;
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int m = static_cast<int>(blockIdx.x / tiles_n) * kSmallTile + ty;
  const int n = static_cast<int>(blockIdx.x % tiles_n) * kSmallTile + tx;
  const int64_t z = batch0 + blockIdx.z;
  a += z * stride_a;
  b += z * stride_b;
  T sum = 0;
  for (int k0 = 0; k0 < K; k0 += kSmallTile) {
    a_tile[ty][tx] = (m < M && k0 + tx < K) ? a[m * sa.row + (k0 + tx) * sa.col] : T(0);
    b_tile[ty][tx] = (k0 + ty < K && n < N) ? b[(k0 + ty) * sb.row + n * sb.col] : T(0);
    __syncthreads();  // the tiles are complete
    for (int kk = 0; kk < kSmallTile; ++kk) sum += a_tile[ty][kk] * b_tile[kk][tx];
    __syncthreads();  // everyone is done reading before the next step overwrites them
  }
  if (m < M && n < N) c[z * M * N + static_cast<int64_t>(m) * N + n] = sum;
}

// ---- 3. the tuned float32 kernel --------------------------------------------------------------------
constexpr int kTile = 128;            // BM = BN: a block computes a 128 x 128 tile of C
constexpr int kTileK = 8;             // BK: the depth of one step along K
constexpr int kThreads = 256;         // 16 x 16 threads, 8 x 8 outputs each
constexpr int kHalf = kTile / 2;      // the second 4 x 4 piece of a thread's rows/cols starts here
constexpr int kRowPitch = kTile + 4;  // floats per row of a shared tile (padded against bank conflicts)
constexpr int kGroupRows = 8;         // tile rows per group in the block order

// Which 128 x 128 tile of C block `block` computes, in the grouped order: blocks 0, 1, ..., 7 take
// the first column of tiles in tile rows 0..7, blocks 8..15 the second column, and so on; then the
// next 8 tile rows. The last group may have fewer rows.
struct TileIndex {
  int row, col;
};
__host__ __device__ inline TileIndex tile_of_block(int block, int M, int N) {
  const int tiles_m = (M + kTile - 1) / kTile, tiles_n = (N + kTile - 1) / kTile;
  const int blocks_per_group = kGroupRows * tiles_n;
  const int first_row = (block / blocks_per_group) * kGroupRows;
  const int rows_in_group = tiles_m - first_row < kGroupRows ? tiles_m - first_row : kGroupRows;
  const int in_group = block % blocks_per_group;
  return {first_row + in_group % rows_in_group, in_group / rows_in_group};
}

// One operand's part of a step: 4 values per thread from global memory into registers (load), then
// into the shared tile, laid out [k][row] with kRowPitch floats per k (store). "row" is m for A and
// n for B. kContiguousK: element (row, k) is at data[row * ld + k], else at data[k * ld + row].
template <bool kContiguousK>
struct TileLoader {
  const float* ptr;  // this thread's first element in the current step
  int64_t step;      // how far ptr moves per step of kTileK along K
  int row, k;        // the (row, k) of that element
  int rows, K;       // the operand's extent: rows x K
  bool vectorised;   // ptr is 16-byte aligned at every step: float4 loads are allowed
  float v[4];        // the values in flight

  __device__ TileLoader(const float* data, int64_t ld, int rows_, int K_, int first_row, bool vectorised_)
      : rows(rows_), K(K_), vectorised(vectorised_) {
    const int t = threadIdx.x;
    if constexpr (kContiguousK) {  // 128 rows x 8 k: row t / 2, k (t % 2) * 4 .. +3
      row = first_row + t / 2;
      k = (t % 2) * 4;
      ptr = data + static_cast<int64_t>(row) * ld + k;
      step = kTileK;
    } else {  // 8 k x 128 rows: k t / 32, rows (t % 32) * 4 .. +3
      row = first_row + (t % 32) * 4;
      k = t / 32;
      ptr = data + static_cast<int64_t>(k) * ld + row;
      step = kTileK * ld;
    }
  }

  // v[i] = element (row, k + i) or (row + i, k), 0 outside the matrix
  __device__ void load() {
    if constexpr (kContiguousK) {
      const bool row_inside = row < rows;
      if (vectorised && row_inside && k + 3 < K) {
        const float4 x = *reinterpret_cast<const float4*>(ptr);
        v[0] = x.x, v[1] = x.y, v[2] = x.z, v[3] = x.w;
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) v[i] = row_inside && k + i < K ? ptr[i] : 0.0f;
      }
    } else {
      const bool k_inside = k < K;
      if (vectorised && k_inside && row + 3 < rows) {
        const float4 x = *reinterpret_cast<const float4*>(ptr);
        v[0] = x.x, v[1] = x.y, v[2] = x.z, v[3] = x.w;
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) v[i] = k_inside && row + i < rows ? ptr[i] : 0.0f;
      }
    }
  }

  // tile[kk * kRowPitch + r] = element (first_row + r, k0 + kk) of this step
  __device__ void store(float* tile) const {
    const int t = threadIdx.x;
    if constexpr (kContiguousK) {  // down a column: 4 k of one row
      const int r = t / 2, kk = (t % 2) * 4;
#pragma unroll
      for (int i = 0; i < 4; ++i) tile[(kk + i) * kRowPitch + r] = v[i];
    } else {  // along a row: 4 rows of one k
      const int r = (t % 32) * 4, kk = t / 32;
      *reinterpret_cast<float4*>(&tile[kk * kRowPitch + r]) = make_float4(v[0], v[1], v[2], v[3]);
    }
  }

  __device__ void next() {
    ptr += step;
    k += kTileK;
  }
};

// acc += A_tile @ B_tile for this thread's 8 x 8 outputs: for each k, the outer product of
// a = A(rows ty*4..+3 and 64+ty*4..+3, k) and b = B(k, cols tx*4..+3 and 64+tx*4..+3).
// (Unrolled by 4, not 8: fully unrolled, ptxas runs out of its 128 registers and spills.)
__device__ __forceinline__ void multiply_tiles(const float* a_tile, const float* b_tile, int ty, int tx,
                                               float (&acc)[8][8]) {
#pragma unroll 4
  for (int kk = 0; kk < kTileK; ++kk) {
    const float* a_k = a_tile + kk * kRowPitch;
    const float* b_k = b_tile + kk * kRowPitch;
    const float4 a_lo = *reinterpret_cast<const float4*>(a_k + ty * 4);
    const float4 a_hi = *reinterpret_cast<const float4*>(a_k + kHalf + ty * 4);
    const float4 b_lo = *reinterpret_cast<const float4*>(b_k + tx * 4);
    const float4 b_hi = *reinterpret_cast<const float4*>(b_k + kHalf + tx * 4);
    const float a[8] = {a_lo.x, a_lo.y, a_lo.z, a_lo.w, a_hi.x, a_hi.y, a_hi.z, a_hi.w};
    const float b[8] = {b_lo.x, b_lo.y, b_lo.z, b_lo.w, b_hi.x, b_hi.y, b_hi.z, b_hi.w};
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

// vec_a / vec_b: the operand allows float4 loads (see sgemm_hand); vec_c: C allows float4 stores.
template <bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kThreads, 2)
    sgemm_tiled_kernel(int M, int N, int K, const float* __restrict__ a, int64_t lda, int64_t stride_a,
                       const float* __restrict__ b, int64_t ldb, int64_t stride_b, float* __restrict__ c,
                       int64_t batch0, bool vec_a, bool vec_b, bool vec_c) {
  __shared__ __align__(16) float a_tiles[2][kTileK * kRowPitch];  // A(m, k) at [k * kRowPitch + m]
  __shared__ __align__(16) float b_tiles[2][kTileK * kRowPitch];  // B(k, n) at [k * kRowPitch + n]

  const TileIndex tile = tile_of_block(blockIdx.x, M, N);
  const int64_t z = batch0 + blockIdx.z;
  // A row-major is K-contiguous; B is K-contiguous when stored transposed, as (N, K).
  TileLoader<!kTransA> load_a(a + z * stride_a, lda, M, K, tile.row * kTile, vec_a);
  TileLoader<kTransB> load_b(b + z * stride_b, ldb, N, K, tile.col * kTile, vec_b);
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  load_a.load();
  load_b.load();
  load_a.store(a_tiles[0]);
  load_b.store(b_tiles[0]);
  __syncthreads();
  int current = 0;
  for (int k0 = 0; k0 < K; k0 += kTileK) {
    const bool has_next = k0 + kTileK < K;  // the same for every thread: no divergence
    if (has_next) {                         // start fetching the next step
      load_a.next(), load_b.next();
      load_a.load(), load_b.load();
    }
    multiply_tiles(a_tiles[current], b_tiles[current], ty, tx, acc);
    if (has_next) {  // nobody reads the other copy now: the last step's __syncthreads saw to that
      load_a.store(a_tiles[current ^ 1]);
      load_b.store(b_tiles[current ^ 1]);
    }
    __syncthreads();
    current ^= 1;
  }

  // C: rows ty*4 + i (i < 4) and 64 + ty*4 + (i - 4); columns likewise with tx.
  c += z * M * N;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int m = tile.row * kTile + (i < 4 ? ty * 4 + i : kHalf + ty * 4 + (i - 4));
    if (m >= M) continue;
    float* c_row = c + static_cast<int64_t>(m) * N;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int n = tile.col * kTile + half * kHalf + tx * 4;
      if (vec_c && n + 3 < N) {
        *reinterpret_cast<float4*>(c_row + n) =
            make_float4(acc[i][half * 4], acc[i][half * 4 + 1], acc[i][half * 4 + 2], acc[i][half * 4 + 3]);
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (n + j < N) c_row[n + j] = acc[i][half * 4 + j];
      }
    }
  }
}

// ---- launchers ---------------------------------------------------------------------------------------
constexpr int64_t kMaxGridZ = 65535;     // the most batches one launch covers (gridDim.z)
constexpr int64_t kMaxExtent = 1 << 30;  // M, N, K: the kernels index rows and columns with int

static std::atomic<HandKernel> current_hand_kernel{HandKernel::Tiled};
void set_hand_kernel(HandKernel kernel) { current_hand_kernel = kernel; }
HandKernel hand_kernel() { return current_hand_kernel; }

// M, N, K fit the kernels' int indices and the grid; returns false when there is nothing to do.
static bool check_sizes(const char* name, int64_t M, int64_t N, int64_t K, int64_t batch, int64_t blocks_per_batch) {
  EMBER_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 0, std::string(name) + ": negative size M=" + std::to_string(M) +
                                                            ", N=" + std::to_string(N) + ", K=" + std::to_string(K) +
                                                            ", batch=" + std::to_string(batch));
  EMBER_CHECK(M <= kMaxExtent && N <= kMaxExtent && K <= kMaxExtent && blocks_per_batch <= INT_MAX,
              std::string(name) + ": M=" + std::to_string(M) + ", N=" + std::to_string(N) + ", K=" + std::to_string(K) +
                  " is too large (each at most 2^30, and the grid at most 2^31 - 1 blocks)");
  return M > 0 && N > 0 && batch > 0;
}

// K == 0: every C(m, n) is an empty sum.
template <typename T>
static void write_zeros(T* c, int64_t count, cudaStream_t stream) {
  EMBER_CUDA_CHECK(cudaMemsetAsync(c, 0, static_cast<size_t>(count) * sizeof(T), stream));
}

template <typename T>
static void gemm_simple(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda,
                        int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T* c, int64_t batch,
                        cudaStream_t stream) {
  const int64_t blocks = (M * N + kThreads - 1) / kThreads;
  if (!check_sizes("gemm_simple", M, N, K, batch, blocks)) return;
  if (K == 0) return write_zeros(c, batch * M * N, stream);
  for (int64_t z0 = 0; z0 < batch; z0 += kMaxGridZ) {
    const dim3 grid(static_cast<unsigned>(blocks), 1, static_cast<unsigned>(std::min(kMaxGridZ, batch - z0)));
    gemm_simple_kernel<T><<<grid, kThreads, 0, stream>>>(static_cast<int>(M), static_cast<int>(N), static_cast<int>(K),
                                                         a, strides_of(trans_a, lda), stride_a, b,
                                                         strides_of(trans_b, ldb), stride_b, c, z0);
    EMBER_CUDA_KERNEL_CHECK("gemm_simple_kernel");
  }
}

void sgemm_simple(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                  int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t batch,
                  cudaStream_t stream) {
  gemm_simple(trans_a, trans_b, M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, stream);
}

void dgemm_simple(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const double* a, int64_t lda,
                  int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c, int64_t batch,
                  cudaStream_t stream) {
  gemm_simple(trans_a, trans_b, M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, stream);
}

void dgemm_hand(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const double* a, int64_t lda,
                int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c, int64_t batch,
                cudaStream_t stream) {
  const int64_t blocks = ((M + kSmallTile - 1) / kSmallTile) * ((N + kSmallTile - 1) / kSmallTile);
  if (!check_sizes("dgemm_hand", M, N, K, batch, blocks)) return;
  if (K == 0) return write_zeros(c, batch * M * N, stream);
  for (int64_t z0 = 0; z0 < batch; z0 += kMaxGridZ) {
    const dim3 grid(static_cast<unsigned>(blocks), 1, static_cast<unsigned>(std::min(kMaxGridZ, batch - z0)));
    const dim3 block(kSmallTile, kSmallTile);
    gemm_tiled16_kernel<double><<<grid, block, 0, stream>>>(static_cast<int>(M), static_cast<int>(N),
                                                            static_cast<int>(K), a, strides_of(trans_a, lda), stride_a,
                                                            b, strides_of(trans_b, ldb), stride_b, c, z0);
    EMBER_CUDA_KERNEL_CHECK("gemm_tiled16_kernel");
  }
}

// float4 loads need every address they touch 16-byte aligned: the pointer, the leading dimension
// and the batch stride (the kernel only adds multiples of 4 to them otherwise).
static bool allows_float4(const float* p, int64_t ld, int64_t batch_stride) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0 && batch_stride % 4 == 0;
}

template <bool kTransA, bool kTransB>
static void launch_sgemm_tiled(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, int64_t stride_a,
                               const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t batch, int64_t blocks,
                               cudaStream_t stream) {
  const bool vec_a = allows_float4(a, lda, stride_a), vec_b = allows_float4(b, ldb, stride_b);
  const bool vec_c = allows_float4(c, N, 0);
  for (int64_t z0 = 0; z0 < batch; z0 += kMaxGridZ) {
    const dim3 grid(static_cast<unsigned>(blocks), 1, static_cast<unsigned>(std::min(kMaxGridZ, batch - z0)));
    sgemm_tiled_kernel<kTransA, kTransB><<<grid, kThreads, 0, stream>>>(static_cast<int>(M), static_cast<int>(N),
                                                                        static_cast<int>(K), a, lda, stride_a, b, ldb,
                                                                        stride_b, c, z0, vec_a, vec_b, vec_c);
    EMBER_CUDA_KERNEL_CHECK("sgemm_tiled_kernel");
  }
}

void sgemm_hand(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t batch,
                cudaStream_t stream) {
  const int64_t blocks = ((M + kTile - 1) / kTile) * ((N + kTile - 1) / kTile);
  if (!check_sizes("sgemm_hand", M, N, K, batch, blocks)) return;
  if (K == 0) return write_zeros(c, batch * M * N, stream);
  if (!trans_a && !trans_b)
    launch_sgemm_tiled<false, false>(M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, blocks, stream);
  else if (!trans_a && trans_b)
    launch_sgemm_tiled<false, true>(M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, blocks, stream);
  else if (trans_a && !trans_b)
    launch_sgemm_tiled<true, false>(M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, blocks, stream);
  else
    launch_sgemm_tiled<true, true>(M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, blocks, stream);
}

}  // namespace ember::cuda
