// Everything of nn/ in one include: modules, layers, losses, init, optimisers, schedules.
#pragma once
#include "autograd/ops.h"
#include "nn/adam.h"
#include "nn/functional.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/module.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"
#include "nn/sequential.h"
#include "nn/sgd.h"
