// The `packed` GEMM route (EMBER_GEMM=packed): a hand-written, cache-blocked, packed float32 GEMM
// with an AVX2/FMA micro-kernel, after Goto & van de Geijn, "Anatomy of High-Performance Matrix
// Multiplication" (2008) and BLIS. See gemm_packed.cpp for the loop nest and block sizes.
#pragma once
#include <cstdint>

#include "tensor/cpu/gemm.h"

namespace ember {

// C (M,N, row-major, row stride N) = A (M,K) @ B (K,N). A and B may each be row- or column-major
// (see GemmOperand), with any outer stride. K == 0 is allowed (C becomes zeros); so are M == 0
// and N == 0 (nothing to do). Multi-threaded with ember::num_threads(), one thread when called
// from inside a parallel region.
void gemm_packed_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C);

// The same product as a plain triple loop, C[i][j] = sum_k A[i][k] * B[k][j], accumulated in
// double and rounded once at the end: slow, obviously correct, for tests and for readers.
void gemm_reference_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C);

}  // namespace ember
