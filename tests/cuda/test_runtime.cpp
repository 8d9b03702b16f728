// The GPU runtime: transfers in every dtype and layout, the caching allocator, pinned memory, the
// two GEMM backends, error messages, and a small training loop running unchanged on the GPU.
#include <doctest/doctest.h>

#include "cuda/cuda_api.h"
#include "cuda/gemm_hand.h"
#include "cuda_test_util.h"
#include "tensor/kernels.h"

using namespace ember;
using namespace ember::test;

TEST_CASE("host -> GPU -> host round trips keep every value, in every dtype and layout") {
  const Device gpu = Device::cuda();
  const DType dtypes[] = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool};
  uint64_t seed = 11;
  for (DType dtype : dtypes) {
    for (Layout layout : {Layout::Contiguous, Layout::Transposed, Layout::Strided, Layout::Broadcast}) {
      CAPTURE(dtype_name(dtype));
      CAPTURE(static_cast<int>(layout));
      InputSpec spec{{6, 9}, dtype, layout, InputSpec::Small};
      Generator g{seed++, 0};
      Tensor host = apply_layout(random_values(spec, g), spec);
      Tensor dev = to(host, gpu);  // a strided host view becomes a dense GPU tensor
      CHECK(dev.device() == gpu);
      CHECK(dev.dtype() == dtype);
      CHECK_CLOSE(to_cpu(dev), host, 0, 0);
      // a strided GPU view comes back through a dense copy on the GPU
      Tensor dev_view = transpose(dev, 0, 1);
      CHECK_CLOSE(to_cpu(dev_view), transpose(host, 0, 1), 0, 0);
      // casts across the boundary, both ways
      CHECK_CLOSE(to_cpu(to(host, gpu, DType::Float64)), to_dtype(host, DType::Float64), 0, 0);
      // copying into a strided host destination
      Tensor host_target = zeros({9, 6}, dtype);
      Tensor target_view = transpose(host_target, 0, 1);
      kernels::copy(target_view, dev);
      CHECK_CLOSE(target_view, host, 0, 0);
    }
  }
  Tensor scalar = to(scalar_tensor(3.5), gpu);
  CHECK(scalar.item() == 3.5);
  CHECK(to_cpu(scalar).shape() == Shape{});
}

TEST_CASE("printing a GPU tensor shows its values and device, as PyTorch does") {
  Tensor t = to(from_vector(std::vector<float>{1, 2.5f}), Device::cuda());
  CHECK(t.str() == "tensor([1.0000, 2.5000], device='cuda:0')");
}

TEST_CASE("the caching allocator reuses blocks: no cudaMalloc in a steady-state loop") {
  const Device gpu = Device::cuda();
  Tensor w = randn({64, 32}, DType::Float32, gpu).requires_grad_();
  Tensor x = randn({16, 64}, DType::Float32, gpu);
  auto step = [&] {
    Tensor loss = mean(square(relu(matmul(x, w))));
    backward(loss);
    NoGradGuard no_grad;
    Tensor update = w.grad() * 0.01;
    sub_(w, update);
    w.set_grad(Tensor());
  };
  for (int i = 0; i < 3; ++i) step();  // warm-up fills the cache
  cuda::AllocatorStats before = cuda::allocator_stats();
  for (int i = 0; i < 20; ++i) step();
  cuda::AllocatorStats after = cuda::allocator_stats();
  CHECK(after.cuda_malloc_calls == before.cuda_malloc_calls);
  CHECK(after.cache_hits > before.cache_hits);
  CHECK(after.bytes_in_use == before.bytes_in_use);  // nothing leaks from step to step
  CHECK(after.peak_bytes_in_use >= after.bytes_in_use);
  {
    Tensor big = empty({1 << 20}, DType::Float32, gpu);
    CHECK(cuda::allocator_stats().bytes_in_use >= after.bytes_in_use + (4 << 20));
  }
  CHECK(cuda::allocator_stats().bytes_cached >= (4 << 20));
  cuda::empty_cache();
  CHECK(cuda::allocator_stats().bytes_cached == 0);
}

TEST_CASE("poisoned allocations: an unwritten element reads as NaN") {
  Tensor t = empty({8}, DType::Float32, Device::cuda());
  for (float v : to_vector<float>(t)) CHECK(std::isnan(v));
}

TEST_CASE("pinned host memory round-trips, and uploads from it are asynchronous but ordered") {
  Tensor host = randn({1000});
  Tensor pinned = cuda::pin_memory(host);
  CHECK(pinned.device().is_cpu());
  CHECK(pinned.storage()->pinned);
  CHECK_CLOSE(pinned, host, 0, 0);
  Tensor dev = to(pinned, Device::cuda());
  Tensor doubled = dev * 2.0;  // queued after the copy on the same stream
  CHECK_CLOSE(to_cpu(doubled), host * 2.0, 0, 0);
}

TEST_CASE("the tuned SGEMM, the simple one and cuBLAS agree, and the backend is chosen at run time") {
  CHECK(cuda::parse_gemm_backend("hand") == cuda::GemmBackend::Hand);
  CHECK(cuda::parse_gemm_backend("cublas") == cuda::GemmBackend::Cublas);
  check_throws([] { cuda::parse_gemm_backend("magma"); }, {"magma", "hand", "cublas"});
  const cuda::GemmBackend original = cuda::gemm_backend();
  Generator g{5, 0};
  for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{1000, 300, 700}, {129, 1025, 257}, {4, 4, 4}}) {
    Tensor a = normal({m, k}, 0, 1, DType::Float32, Device::cpu(), &g);
    Tensor b = normal({k, n}, 0, 1, DType::Float32, Device::cpu(), &g);
    Tensor expected = matmul(a, b);
    Tensor da = to(a, Device::cuda()), db = to(b, Device::cuda());
    struct Variant {
      const char* name;
      cuda::GemmBackend backend;
      cuda::HandKernel kernel;
    };
    for (Variant v : {Variant{"hand tiled", cuda::GemmBackend::Hand, cuda::HandKernel::Tiled},
                      Variant{"hand simple", cuda::GemmBackend::Hand, cuda::HandKernel::Simple},
                      Variant{"cublas", cuda::GemmBackend::Cublas, cuda::HandKernel::Tiled}}) {
      CAPTURE(v.name);
      cuda::set_gemm_backend(v.backend);
      cuda::set_hand_kernel(v.kernel);
      double atol = 2e-4 * std::sqrt(static_cast<double>(k));
      CHECK_CLOSE(to_cpu(matmul(da, db)), expected, atol, 1e-4);
      CHECK_CLOSE(to_cpu(matmul(mT(to(mT(a), Device::cuda())), db)), expected, atol, 1e-4);  // A transposed
      CHECK_CLOSE(to_cpu(matmul(da, mT(to(mT(b), Device::cuda())))), expected, atol, 1e-4);  // B transposed
    }
  }
  cuda::set_gemm_backend(original);
  cuda::set_hand_kernel(cuda::HandKernel::Tiled);
}

TEST_CASE("mixing devices is an error naming both, and bad device indices are named") {
  Tensor a = randn({3}), b = to(randn({3}), Device::cuda());
  check_throws([&] { add(a, b); }, {"cpu", "cuda:0"});
  check_throws([&] { matmul(reshape(a, {1, 3}), reshape(b, {3, 1})); }, {"cpu", "cuda:0"});
  check_throws([&] { to(a, Device::cuda(cuda::device_count())); },
               {"cuda:" + std::to_string(cuda::device_count()), "does not exist"});
}

TEST_CASE("autograd runs unchanged on the GPU: a small regression fit matches the CPU step for step") {
  auto train = [](Device device) {
    Generator g{123, 0};
    Tensor x = to(normal({64, 3}, 0, 1, DType::Float32, Device::cpu(), &g), device);
    Tensor true_w = to(from_vector(std::vector<float>{2, -1, 0.5}, Shape{3, 1}), device);
    Tensor y = matmul(x, true_w) + 0.3;
    Tensor w = to(zeros({3, 1}), device).requires_grad_();
    Tensor bias = to(zeros({1}), device).requires_grad_();
    std::vector<double> losses;
    for (int step = 0; step < 50; ++step) {
      Tensor loss = mean(square(matmul(x, w) + bias - y));
      losses.push_back(loss.item());
      backward(loss);
      NoGradGuard no_grad;
      Tensor dw = w.grad() * 0.1, db = bias.grad() * 0.1;
      sub_(w, dw), sub_(bias, db);
      w.set_grad(Tensor()), bias.set_grad(Tensor());
    }
    return std::make_pair(losses, to_cpu(w));
  };
  auto [cpu_losses, cpu_w] = train(Device::cpu());
  auto [gpu_losses, gpu_w] = train(Device::cuda());
  REQUIRE(cpu_losses.size() == gpu_losses.size());
  for (size_t i = 0; i < cpu_losses.size(); ++i) CHECK(gpu_losses[i] == doctest::Approx(cpu_losses[i]).epsilon(1e-4));
  CHECK(gpu_losses.back() < 0.01 * gpu_losses.front());
  CHECK_CLOSE(gpu_w, cpu_w, 1e-4, 1e-4);
}
