// DuckDuckGo image search (vision/ddg_search.h): the token forms, the URL and JSON pieces, and the
// whole search against a fake DuckDuckGo on 127.0.0.1 (tests/vision/fake_ddg_server.h): paging
// through `next`, deduplication, the stopping rules, retries with backoff, and the messages for
// a blocked search, a missing token, a page without results and a machine that is offline.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>

#include "tensor/error.h"
#include "tests/test_util.h"
#include "tests/vision/fake_ddg_server.h"
#include "vision/ddg_search.h"
#include "vision/http.h"

using namespace ember::vision;
using ember::test::check_throws;
using ember::test::FakeRequest;
using ember::test::FakeResponse;
using ember::test::FakeServer;
using ember::test::image_page_json;

namespace {

// Fast settings for a local server: no pauses, tiny backoff, short limits.
SearchOptions fast_options(const FakeServer& server, std::vector<std::string>* log = nullptr) {
  SearchOptions options;
  options.base_url = server.base_url();
  options.page_pause_seconds = 0;
  options.backoff_seconds = 0.01;
  options.timeout_seconds = 5;
  options.connect_timeout_seconds = 2;
  if (log) options.log = [log](const std::string& line) { log->push_back(line); };
  return options;
}

std::vector<std::string> images_of(const std::vector<ImageResult>& results) {
  std::vector<std::string> urls;
  for (const ImageResult& r : results) urls.push_back(r.image);
  return urls;
}

const char* kTokenPage = R"(<html><script>DDG.deep.initialize('/d.js?q=iu&vqd="4-2121882807"&p=1');</script>
<script>nrj('/d.js?q=iu&t=D&l=us-en&s=0&dl=en&ct=KR&ss_mkt=us&vqd="4-2121882807"');</script></html>)";

}  // namespace

TEST_CASE("ddg search: the vqd token in each form duckduckgo_search has parsed") {
  CHECK(extract_vqd(kTokenPage) == "4-2121882807");                                  // 2.9.4+, 8.x first
  CHECK(extract_vqd("...;nrj('/d.js?q=iu&vqd=4-3333_ab-9&p=1')") == "4-3333_ab-9");  // 2.1-2.2: vqd=...&
  CHECK(extract_vqd("<script>vqd='4-55512';</script>") == "4-55512");                // 2.3-2.9.3
  CHECK(extract_vqd("vqd=\"4-1\" and later vqd='4-2'") == "4-1");                    // 8.x's order
  CHECK(extract_vqd("<html>no token here</html>").empty());
  CHECK(extract_vqd("").empty());
  CHECK(extract_vqd("vqd=\"\"").empty());                           // empty value
  CHECK(extract_vqd("vqd=\"<script>alert(1)</script>\"").empty());  // not token characters
  CHECK(extract_vqd("vqd=\"4-123").empty());                        // never closed
}

TEST_CASE("ddg search: query encoding, page URLs and the offset in `next`") {
  // Expected strings from Python's urllib.parse.quote_plus.
  CHECK(url_encode("iu kpop") == "iu+kpop");
  CHECK(url_encode("\xEC\x95\x84\xEC\x9D\xB4\xEC\x9C\xA0") == "%EC%95%84%EC%9D%B4%EC%9C%A0");  // 아이유
  CHECK(url_encode("a&b=c/d~._-") == "a%26b%3Dc%2Fd~._-");

  SearchOptions options;
  options.base_url = "http://127.0.0.1:9/";
  CHECK(image_page_url(options, "iu kpop", "4-21", "") ==
        "http://127.0.0.1:9/i.js?l=wt-wt&o=json&q=iu+kpop&vqd=4-21&f=,,,,,&p=1");
  CHECK(image_page_url(options, "iu", "4-21", "100") ==
        "http://127.0.0.1:9/i.js?l=wt-wt&o=json&q=iu&vqd=4-21&f=,,,,,&p=1&s=100");

  CHECK(offset_from_next("i.js?q=iu&o=json&p=1&s=100&u=bing&f=,,,,,&l=wt-wt") == "100");
  CHECK(offset_from_next("i.js?s=200") == "200");
  CHECK(offset_from_next("i.js?q=iu&vqd=4-1&ss=7") == "");  // "ss=" is not "s="
  CHECK(offset_from_next("").empty());
}

TEST_CASE("ddg search: an i.js page reduced to duckduckgo_search's fields") {
  const std::string text = R"({"ads":null,"next":"i.js?s=100","results":[
      {"height":1350,"width":1080,"image":"https://example.com/a/iu.jpg","image_token":"fb","source":"Bing",
       "thumbnail":"https://tse2.mm.bing.net/th?id=1","thumbnail_token":"4c","title":"IU \u2764","url":"https://example.com/page"},
      {"title":"no image field"},
      7,
      {"image":"https://example.com/b.png"}]})";
  const ImagePage page = parse_image_page(text, "test page");
  REQUIRE(page.results.size() == 2);
  const ImageResult& a = page.results[0];
  CHECK(a.image == "https://example.com/a/iu.jpg");
  CHECK(a.title == "IU \xE2\x9D\xA4");
  CHECK(a.thumbnail == "https://tse2.mm.bing.net/th?id=1");
  CHECK(a.url == "https://example.com/page");
  CHECK(a.source == "Bing");
  CHECK(a.height == 1350);
  CHECK(a.width == 1080);
  CHECK(page.results[1].image == "https://example.com/b.png");
  CHECK(page.results[1].height == 0);
  CHECK(page.next == "i.js?s=100");
  CHECK(parse_image_page(R"({"results":[]})", "x").next.empty());

  check_throws([] { parse_image_page(R"({"ads":null,"next":"i.js?s=100"})", "http://x/i.js"); },
               {"http://x/i.js", "no \"results\" list"});
  check_throws([] { parse_image_page(R"({"results":{}})", "p"); }, {"no \"results\" list"});
  check_throws([] { parse_image_page("[1,2]", "p"); }, {"no \"results\" list", "array"});
  check_throws([] { parse_image_page("<html>blocked</html>", "http://x/i.js"); }, {"http://x/i.js", "is not JSON"});
}

TEST_CASE("ddg search: pages through `next`, keeps each image URL once, in order") {
  REQUIRE_MESSAGE(have_http_client(), "built without libcurl");
  FakeServer server;
  server.route("/", FakeResponse::html(kTokenPage));
  server.route("/i.js", [](const FakeRequest& r) {
    const std::string s = r.param("s");
    if (s.empty())
      return FakeResponse::json(image_page_json({"http://a/1.jpg", "http://a/2.jpg", "http://a/3.jpg"},
                                                "i.js?q=iu&o=json&p=1&s=100&u=bing&f=,,,,,&l=wt-wt"));
    if (s == "100")  // one URL again from page 1: counted once
      return FakeResponse::json(image_page_json({"http://a/4.jpg", "http://a/2.jpg", "http://a/5.jpg"}, "i.js?s=200"));
    return FakeResponse::json(image_page_json({"http://a/6.jpg", "http://a/7.jpg"}, ""));  // the last page
  });
  const std::vector<ImageResult> found = search_images("iu kpop", fast_options(server));
  CHECK(images_of(found) == std::vector<std::string>{"http://a/1.jpg", "http://a/2.jpg", "http://a/3.jpg",
                                                     "http://a/4.jpg", "http://a/5.jpg", "http://a/6.jpg",
                                                     "http://a/7.jpg"});
  CHECK(found[0].title == "picture 0");
  CHECK(found[0].width == 640);

  const std::vector<FakeRequest> requests = server.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].target == "/?q=iu+kpop");
  for (const FakeRequest& r : requests) {
    CHECK(r.headers.at("referer") == server.base_url() + "/");
    CHECK(r.headers.at("user-agent").find("Mozilla/5.0") == 0);
  }
  CHECK(requests[1].target == "/i.js?l=wt-wt&o=json&q=iu+kpop&vqd=4-2121882807&f=,,,,,&p=1");
  CHECK(requests[2].param("s") == "100");
  CHECK(requests[3].param("s") == "200");
  CHECK(requests[3].param("vqd") == "4-2121882807");

  SUBCASE("max_results stops the paging early") {
    SearchOptions options = fast_options(server);
    options.max_results = 4;
    CHECK(images_of(search_images("iu", options)) ==
          std::vector<std::string>{"http://a/1.jpg", "http://a/2.jpg", "http://a/3.jpg", "http://a/4.jpg"});
    CHECK(server.hits("/i.js") == 3 + 2);  // the first search's 3 pages, then 2
  }
}

TEST_CASE("ddg search: stops at a page without new images, and after max_pages") {
  REQUIRE(have_http_client());
  FakeServer server;
  server.route("/", FakeResponse::html(kTokenPage));
  std::atomic<int> counter{0};
  server.route("/same/i.js", [](const FakeRequest&) {  // always the same two images, always a next
    return FakeResponse::json(image_page_json({"http://a/1.jpg", "http://a/2.jpg"}, "i.js?s=100"));
  });
  server.route("/same/", FakeResponse::html(kTokenPage));
  server.route("/endless/", FakeResponse::html(kTokenPage));
  server.route("/endless/i.js", [&counter](const FakeRequest&) {  // new images forever
    const std::string n = std::to_string(counter++);
    return FakeResponse::json(image_page_json({"http://a/" + n + "a.jpg", "http://a/" + n + "b.jpg"}, "i.js?s=" + n));
  });
  SearchOptions options = fast_options(server);
  options.base_url = server.url("/same");
  CHECK(search_images("iu", options).size() == 2);
  CHECK(server.hits("/same/i.js") == 2);

  options.base_url = server.url("/endless/");
  options.max_pages = 10;
  CHECK(search_images("iu", options).size() == 20);
  CHECK(server.hits("/endless/i.js") == 10);
}

TEST_CASE("ddg search: 429 and 202 are tried again after a backoff; blocked and failing servers give clear errors") {
  REQUIRE(have_http_client());
  FakeServer server;
  server.route("/", FakeResponse::html(kTokenPage));
  std::atomic<int> calls{0};
  server.route("/i.js", [&calls](const FakeRequest&) {
    const int call = calls++;
    if (call == 0) return FakeResponse::html("slow down", 429);
    if (call == 1) return FakeResponse::html("", 202);  // DuckDuckGo's rate-limit answer
    return FakeResponse::json(image_page_json({"http://a/1.jpg"}, ""));
  });
  std::vector<std::string> log;
  const auto start = std::chrono::steady_clock::now();
  CHECK(search_images("iu", fast_options(server, &log)).size() == 1);
  CHECK(server.hits("/i.js") == 3);
  REQUIRE(log.size() == 2);
  CHECK(log[0].find("HTTP 429") != std::string::npos);
  CHECK(log[0].find("try 2 of 3") != std::string::npos);
  CHECK(log[1].find("HTTP 202") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));  // 0.01 s + 0.02 s of backoff

  SUBCASE("403 forever: refused after 3 tries") {
    server.route("/", FakeResponse::html("blocked", 403));
    check_throws([&] { search_images("iu", fast_options(server)); },
                 {"DuckDuckGo refused the search for 'iu'", "HTTP 403 after 3 tries", "try again later"});
    CHECK(server.hits("/") == 3 + 1);
  }
  SUBCASE("429 forever: rate-limited") {
    server.route("/i.js", FakeResponse::html("", 429));
    SearchOptions options = fast_options(server);
    options.tries = 2;
    check_throws([&] { search_images("iu", options); },
                 {"rate-limiting the search for 'iu'", "HTTP 429 after 2 tries"});
  }
  SUBCASE("500 forever") {
    server.route("/i.js", FakeResponse::html("oops", 500));
    check_throws([&] { search_images("iu", fast_options(server)); }, {"DuckDuckGo failed the search", "HTTP 500"});
  }
  SUBCASE("404 is not tried again") {
    server.route("/i.js", FakeResponse::html("no", 404));
    check_throws([&] { search_images("iu", fast_options(server)); }, {"HTTP 404", "/i.js?"});
    CHECK(server.hits("/i.js") == 3 + 1);
  }
  SUBCASE("a redirect to DuckDuckGo's block page (506-00.js)") {
    server.route("/i.js", FakeResponse::redirect("/assets/506-00.js"));
    server.route("/assets/506-00.js", FakeResponse::bytes("// blocked", "application/javascript"));
    check_throws([&] { search_images("iu", fast_options(server)); }, {"refused the search", "506-00.js"});
  }
}

TEST_CASE("ddg search: no token, no results, offline") {
  REQUIRE(have_http_client());
  FakeServer server;
  server.route("/", FakeResponse::html("<html><body>Please enable JavaScript</body></html>"));
  check_throws([&] { search_images("iu", fast_options(server)); },
               {"DuckDuckGo answered without a vqd token for 'iu'", "blocked or its page changed"});
  CHECK(server.hits("/i.js") == 0);

  server.route("/", FakeResponse::html(kTokenPage));
  server.route("/i.js", FakeResponse::json(R"({"ads":null,"response_type":"images"})"));
  check_throws([&] { search_images("iu", fast_options(server)); }, {"no \"results\" list", "/i.js?"});

  // A later page without results ends the search with what the earlier pages found.
  server.route("/i.js", [](const FakeRequest& r) {
    if (r.param("s").empty()) return FakeResponse::json(image_page_json({"http://a/1.jpg"}, "i.js?s=100"));
    return FakeResponse::html("<html>not json</html>");
  });
  std::vector<std::string> log;
  CHECK(search_images("iu", fast_options(server, &log)).size() == 1);
  REQUIRE(log.size() == 1);
  CHECK(log[0].find("is not JSON") != std::string::npos);
  CHECK(log[0].find("keeping the 1 found so far") != std::string::npos);

  SearchOptions offline;
  offline.base_url = "http://127.0.0.1:" + std::to_string(ember::test::unused_port());
  offline.backoff_seconds = 0.01;
  check_throws([&] { search_images("iu", offline); },
               {"the search for 'iu' failed", "could not connect; are you offline", offline.base_url});
}

TEST_CASE("ddg search: the base URL comes from EMBER_DDG_URL when it is set") {
  ::setenv("EMBER_DDG_URL", "http://127.0.0.1:1234", 1);
  CHECK(SearchOptions{}.base_url == "http://127.0.0.1:1234");
  ::unsetenv("EMBER_DDG_URL");
  CHECK(SearchOptions{}.base_url == "https://duckduckgo.com");
}
