// The training loops of exercises 2 and 3, as benchmark cases (their PyTorch twins are in
// torch_bench.py, with the same names):
//   ex2_sgd_step:  one epoch of exercise 2 model (1): x (1000,1), Linear(1,1),
//                  loss = mean((net(x) - y)^2), backward, SGD(lr 0.1).step(), zero_grad()
//   ex3_adam_step: one epoch of exercise 3's autoencoder: X (150,4) -> Linear(4,2,bias=False) ->
//                  Linear(2,4,bias=False), MSELoss, backward, Adam.step(), zero_grad()
#pragma once
#include <vector>

#include "bench/harness.h"

namespace bench {

void add_exercise_cases(std::vector<Case>& cases);

}  // namespace bench
