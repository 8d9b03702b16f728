// Placeholder until the subcommand is written (issue 6).
#include <cstdio>

#include "apps/commands.h"

namespace ember::app {

int run_data(int, char**) {
  std::fprintf(stderr, "ember data: not built yet\n");
  return 1;
}

}  // namespace ember::app
