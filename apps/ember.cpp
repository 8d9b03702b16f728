// `ember`: the command-line entry point for using trained models. Subcommands:
//
//   ember predict --weights FILE IMAGE...     classify images (apps/predict.cpp)
//
// (The exercises are their own programs: ember_ex2, ember_ex3.)
#include <cstdio>
#include <cstring>

#include "apps/predict.h"

namespace {

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ember COMMAND [options]\n\n"
               "commands:\n"
               "  predict    classify images with a ResNet and torchvision-named weights\n\n"
               "'ember COMMAND --help' shows a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "predict") == 0) return ember::app::run_predict(argc - 1, argv + 1);
  std::fprintf(stderr, "ember: unknown command '%s' (see ember --help)\n", argv[1]);
  return 2;
}
