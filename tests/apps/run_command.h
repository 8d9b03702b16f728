// Running a program from a test: its exit status and what it printed, for the app tests.
//
//   CommandOutput r = run_command(std::string(EMBER_CLI_PATH) + " verify " + dir);
//   CHECK(r.status == 0);  CHECK(r.err.empty());
//   CommandOutput r2 = run_ember("data shapes --out " + dir);     // EMBER_CLI_PATH + " " + arguments
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "tensor/io/file.h"
#include "tests/test_util.h"

namespace ember::test {

struct CommandOutput {
  int status = -1;  // exit status; -1 when killed by a signal
  std::string out, err;
};

// Runs `command` through the shell with stdout and stderr captured in files.
inline CommandOutput run_command(const std::string& command) {
  TempDir dir("run");
  const std::string out = dir.file("out.txt"), err = dir.file("err.txt");
  const int raw = std::system((command + " >" + out + " 2>" + err).c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_file(out, "test"), read_file(err, "test")};
}

#ifdef EMBER_CLI_PATH
// `ember <arguments>`.
inline CommandOutput run_ember(const std::string& arguments) {
  return run_command(std::string(EMBER_CLI_PATH) + " " + arguments);
}
#endif

}  // namespace ember::test
