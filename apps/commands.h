// The subcommands of the `ember` program (apps/ember.cpp dispatches on argv[1]). Each takes argv
// with argv[0] = the subcommand's name and returns the exit status: 0, 1 on a failure, 2 on a
// usage error.
#pragma once

namespace ember::app {

int run_predict(int argc, char** argv);  // apps/predict.cpp: classify images with a ResNet
int run_crawl(int argc, char** argv);    // apps/crawl.cpp: DuckDuckGo image search + downloads
int run_verify(int argc, char** argv);   // apps/verify.cpp: find (and delete) images that do not decode
int run_data(int argc, char** argv);     // apps/data.cpp: write offline datasets as image folders
int run_show_batch(int argc, char** argv);
int run_report_index(int argc, char** argv);  // apps/report_index.cpp: a front page linking app reports  //
                                              // apps/show_batch.cpp: summarise a folder dataset, draw a batch

}  // namespace ember::app
