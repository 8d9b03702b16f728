// A small HTTP/1.1 server on 127.0.0.1 for the crawler's tests (not a test file: it holds no
// TEST_CASE). The test registers what each path answers, points the crawler at base_url(), and
// afterwards asks which requests came:
//
//   test::FakeServer server;                                  // an ephemeral port, its own threads
//   server.route("/", test::FakeResponse::html("<script>vqd=\"4-123\";</script>"));
//   server.route("/i.js", [&](const test::FakeRequest& r) { return ...page for r.param("s")...; });
//   server.route("/slow.jpg", {.body = jpeg, .stall_after_bytes = 100});   // then silence
//   ... crawl ...
//   CHECK(server.hits("/i.js") == 2);
//
// One thread accepts, one thread serves each connection (one request, then "Connection: close").
// A response may stall in the middle of its body, waiting on a condition variable; the destructor
// wakes every staller, shuts every socket down and joins every thread, so it returns at once even
// while a client is still waiting for bytes.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ember::test {

struct FakeRequest {
  std::string method;                          // "GET"
  std::string target;                          // "/i.js?l=wt-wt&o=json&q=iu"
  std::string path;                            // "/i.js"
  std::map<std::string, std::string> headers;  // names lowercased: "user-agent", "referer"
  // The raw (still URL-encoded) value of a query parameter; "" when absent.
  std::string param(const std::string& name) const;
};

struct FakeResponse {
  static constexpr size_t kNoStall = size_t(-1);
  int status = 200;
  std::string content_type = "text/html";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more header lines, e.g. {"Location", "/a.jpg"}
  bool send_content_length = true;                           // false: the body ends when the connection closes
  int64_t content_length = -1;          // >= 0: announce this length instead of the body's real one
  size_t stall_after_bytes = kNoStall;  // send this much of the body, then stall until the server stops

  static FakeResponse html(std::string body, int status = 200);
  static FakeResponse json(std::string body);
  static FakeResponse bytes(std::string body, std::string content_type);
  static FakeResponse redirect(std::string location, int status = 302);
};

class FakeServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  FakeServer();  // listening when it returns
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const;                    // "http://127.0.0.1:<port>"
  std::string url(const std::string& path) const;  // base_url() + path

  // What `path` (the target without its query) answers; anything unrouted answers 404.
  void route(const std::string& path, Handler handler);
  void route(const std::string& path, FakeResponse fixed);

  int hits(const std::string& path) const;  // requests to `path` so far
  std::vector<FakeRequest> requests() const;

 private:
  void accept_loop();
  void serve(int fd);
  // Waits up to `seconds` or until the server stops; false when it stopped.
  bool wait_unless_stopping(double seconds);

  int listen_fd_ = -1, wake_pipe_[2] = {-1, -1}, port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable stopping_cv_;
  bool stopping_ = false;
  std::map<std::string, Handler> routes_;
  std::vector<FakeRequest> requests_;
  std::set<int> open_fds_;
  std::vector<std::thread> connection_threads_;
  std::thread accept_thread_;
};

// A port on 127.0.0.1 that nothing listens on (bound once to get a free number, then closed):
// connecting there is refused at once, as when the machine is offline or the server is down.
int unused_port();

// ---- DuckDuckGo's answers ------------------------------------------------------------------------

// An i.js page: {"results": [{"image": url, "title": ..., ...}, ...], "next": next} ("next" left
// out when empty), with the fields duckduckgo_search reads and a few it ignores.
std::string image_page_json(const std::vector<std::string>& image_urls, const std::string& next);

}  // namespace ember::test
