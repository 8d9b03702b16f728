// `ember predict` (apps/predict.cpp): image classification from the command line.
#pragma once

namespace ember::app {

// argv[0] is "predict"; returns the exit status (0, 1 on a failure, 2 on a usage error).
int run_predict(int argc, char** argv);

}  // namespace ember::app
