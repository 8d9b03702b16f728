// `ember verify`: decode every image file under a folder, list the ones that fail with the reason,
// and with --delete remove them (or move them into --quarantine), as the exercise did with fastai's
// verify_images + Path.unlink.
//
//   ember verify images/                         list the bad files; exit 1 if there are any
//   ember verify images/ --delete                delete them; exit 0 once they are gone
//   ember verify images/ --quarantine bad/       move them to bad/<same relative path>
//
// Exit status, like a linter's: 0 when every image decodes or every bad one was removed; 1 when bad
// files remain (no --delete), could not be removed, or files/folders could not be read; 2 on a usage
// error or when DIR is not a folder.
#include <cstdio>

#include "apps/commands.h"
#include "apps/common/cli.h"
#include "apps/common/progress.h"
#include "tensor/error.h"
#include "vision/verify.h"

namespace ember::app {

int run_verify(int argc, char** argv) {
  Cli cli("ember verify",
          "Decode every image file under DIR (recursively; hidden files and folders skipped) and list the ones\n"
          "that fail with the reason. Exit status: 0 all good (or all bad ones removed), 1 bad files remain\n"
          "or could not be read or removed, 2 usage error.");
  std::vector<std::string> folders;
  bool remove = false;
  std::string quarantine;
  int64_t workers = 0;
  cli.positional("DIR", &folders, "the folder to check, e.g. images/");
  cli.flag("--delete", &remove, "delete the files that do not decode (unreadable ones are kept)");
  cli.option("--quarantine", &quarantine, "move them here instead, keeping their relative paths; never overwrites");
  cli.option("--workers", &workers, "decoding threads (0: one per core)", 0);
  if (!cli.parse(argc, argv)) return cli.exit_code();
  if (folders.size() != 1) {
    std::fprintf(stderr, "ember verify: expected one DIR, got %zu (see --help)\n", folders.size());
    return 2;
  }
  const std::string& root = folders[0];
  try {
    if (!quarantine.empty()) vision::check_quarantine_folder(root, quarantine);  // before any work
    const vision::VerifyResult result = with_progress(
        "verify", [&](const ProgressCallback& p) { return vision::verify_images(root, int(workers), p); });
    for (const vision::BadImage& bad : result.bad) std::printf("%s: %s\n", bad.path.c_str(), bad.reason.c_str());
    for (const vision::BadImage& bad : result.unreadable)
      std::printf("%s: unreadable: %s\n", bad.path.c_str(), bad.reason.c_str());
    std::printf("%zu of %lld images do not decode\n", result.bad.size(), static_cast<long long>(result.checked));
    if (!result.unreadable.empty())
      std::printf("%zu files or folders could not be read (kept)\n", result.unreadable.size());
    bool ok = result.unreadable.empty();
    if (remove || !quarantine.empty()) {
      const vision::RemovalResult removal = vision::remove_bad_images(result.bad, root, quarantine);
      for (const vision::BadImage& failure : removal.failed)
        std::fprintf(stderr, "ember verify: %s: %s\n", failure.path.c_str(), failure.reason.c_str());
      if (quarantine.empty())
        std::printf("deleted %lld files\n", static_cast<long long>(removal.removed));
      else
        std::printf("moved %lld files to %s\n", static_cast<long long>(removal.removed), quarantine.c_str());
      ok = ok && removal.failed.empty();
    } else {
      ok = ok && result.bad.empty();
    }
    return ok ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "ember verify: %s\n", e.what());
    return 2;
  }
}

}  // namespace ember::app
