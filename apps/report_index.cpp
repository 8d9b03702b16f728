// `ember index`: the demo's front page, one link (and thumbnail) per app report.
//
//   ember index --out out/index.html out/ex1 out/ex2 out/ex3
#include <cstdio>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/common/cli.h"
#include "tensor/error.h"
#include "vision/report.h"

namespace ember::app {

int run_report_index(int argc, char** argv) {
  Cli cli("ember index", "Write an index.html that links the reports in the given folders.");
  std::string out = "out/index.html", title = "Ember: the three exercises";
  std::vector<std::string> dirs;
  cli.option("--out", &out, "the index page to write");
  cli.option("--title", &title, "the page's title");
  cli.positional("DIR", &dirs, "folders that hold a report.html", 1);
  if (!cli.parse(argc, argv)) return cli.exit_code();
  try {
    vision::write_report_index(out, title, dirs);
    std::printf("wrote %s\n", out.c_str());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "ember index: %s\n", e.what());
    return 1;
  }
}

}  // namespace ember::app
