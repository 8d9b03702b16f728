// Everything a user of the engine needs: tensors, creation, differentiable ops, backward.
#pragma once
#include "autograd/elementwise.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/linalg.h"
#include "autograd/node.h"
#include "autograd/reductions.h"
#include "autograd/views.h"
#include "tensor/creation.h"
#include "tensor/io/safetensors.h"
#include "tensor/tensor.h"
