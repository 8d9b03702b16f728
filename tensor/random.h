// The seeded generator behind rand/randn/randint. State is (seed, offset): each random tensor of
// n elements takes Philox counters offset .. offset+n-1 and advances offset by n, so a run is
// reproducible from its seed on any device and any number of threads.
#pragma once
#include <cstdint>

namespace ember {

struct Generator {
  uint64_t seed = 0x853c49e6748fea9bULL;
  uint64_t offset = 0;
  uint64_t reserve(uint64_t count) {  // returns the first counter of a block of `count`
    uint64_t first = offset;
    offset += count;
    return first;
  }
};

Generator& default_generator();
void manual_seed(uint64_t seed);  // like torch.manual_seed

}  // namespace ember
