// Device math by dtype: the function std:: picks on the CPU for each type (expf for float, exp for
// double), so a kernel templated on T calls exp_of(x) and gets the CPU kernel's precision.
#pragma once
#include <cuda_runtime.h>

namespace ember::cuda {

__device__ __forceinline__ float exp_of(float x) { return ::expf(x); }
__device__ __forceinline__ double exp_of(double x) { return ::exp(x); }
__device__ __forceinline__ float log_of(float x) { return ::logf(x); }
__device__ __forceinline__ double log_of(double x) { return ::log(x); }
__device__ __forceinline__ float log1p_of(float x) { return ::log1pf(x); }
__device__ __forceinline__ double log1p_of(double x) { return ::log1p(x); }
__device__ __forceinline__ float abs_of(float x) { return ::fabsf(x); }
__device__ __forceinline__ double abs_of(double x) { return ::fabs(x); }
__device__ __forceinline__ float sqrt_of(float x) { return ::sqrtf(x); }
__device__ __forceinline__ double sqrt_of(double x) { return ::sqrt(x); }
__device__ __forceinline__ float tanh_of(float x) { return ::tanhf(x); }
__device__ __forceinline__ double tanh_of(double x) { return ::tanh(x); }
__device__ __forceinline__ float pow_of(float x, float y) { return ::powf(x, y); }
__device__ __forceinline__ double pow_of(double x, double y) { return ::pow(x, y); }

}  // namespace ember::cuda
