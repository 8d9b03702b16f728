// `ember`: the command-line entry point. Subcommands (apps/commands.h):
//
//   ember crawl --label iu --query "iu" --query "iu kpop" --split train     DuckDuckGo images
//   ember verify images/ [--delete]                                          drop undecodable files
//   ember data fashion-mnist|shapes --out images/                            offline datasets
//   ember index --out out/index.html out/ex1 out/ex2 out/ex3                 the demo's front page
//   ember predict --weights FILE IMAGE...                                    classify images
//
// (The exercises are their own programs: ember_ex2, ember_ex3.)
#include <cstdio>
#include <cstring>

#include "apps/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* help;
};

const Command kCommands[] = {
    {"crawl", ember::app::run_crawl, "search DuckDuckGo images and download them into images/<split>/<label>/"},
    {"verify", ember::app::run_verify, "decode every image in a folder; list (or --delete) the ones that fail"},
    {"data", ember::app::run_data, "write Fashion-MNIST classes or generated shapes as image folders"},
    {"show-batch", ember::app::run_show_batch,
     "summarise an image folder (fastai's from_folder) and draw a training batch"},
    {"index", ember::app::run_report_index, "write an index.html linking app reports (the demo's front page)"},
    {"predict", ember::app::run_predict, "classify images with a ResNet and torchvision-named weights"},
};

void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: ember COMMAND [options]\n\ncommands:\n");
  for (const Command& command : kCommands) std::fprintf(out, "  %-10s %s\n", command.name, command.help);
  std::fprintf(out, "\n'ember COMMAND --help' shows a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command& command : kCommands)
    if (std::strcmp(argv[1], command.name) == 0) return command.run(argc - 1, argv + 1);
  std::fprintf(stderr, "ember: unknown command '%s' (see ember --help)\n", argv[1]);
  return 2;
}
