// See fake_ddg_server.h. Plain POSIX sockets; every blocking call is bounded (poll with the wake
// pipe, receive timeouts, a stall limit), so a broken test cannot hang the suite.
#include "tests/vision/fake_ddg_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <stdexcept>

#include "tensor/io/json.h"

namespace ember::test {

namespace {

constexpr double kLongestStallSeconds = 30;  // a stalled answer ends by itself after this
constexpr size_t kMaxRequestBytes = 64 << 10;

std::string status_text(int status) {
  switch (status) {
  case 200: return "OK";
  case 202: return "Accepted";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Status";
  }
}

// Sends everything or gives up (the client went away); never raises SIGPIPE.
bool send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data += sent;
    size -= size_t(sent);
  }
  return true;
}

// Reads the request line and headers (up to the blank line); false if the client sent none.
bool read_request(int fd, FakeRequest& request) {
  std::string text;
  char buffer[4096];
  while (text.find("\r\n\r\n") == std::string::npos) {
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0 || text.size() > kMaxRequestBytes) return false;
    text.append(buffer, size_t(got));
  }
  const size_t line_end = text.find("\r\n");
  const std::string line = text.substr(0, line_end);
  const size_t space1 = line.find(' '), space2 = line.rfind(' ');
  if (space1 == std::string::npos || space2 == space1) return false;
  request.method = line.substr(0, space1);
  request.target = line.substr(space1 + 1, space2 - space1 - 1);
  request.path = request.target.substr(0, request.target.find('?'));
  for (size_t at = line_end + 2; at < text.size();) {
    const size_t end = text.find("\r\n", at);
    if (end == std::string::npos || end == at) break;
    const std::string header = text.substr(at, end - at);
    if (const size_t colon = header.find(':'); colon != std::string::npos) {
      std::string name = header.substr(0, colon);
      for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
      size_t value = colon + 1;
      while (value < header.size() && header[value] == ' ') ++value;
      request.headers[name] = header.substr(value);
    }
    at = end + 2;
  }
  return true;
}

}  // namespace

std::string FakeRequest::param(const std::string& name) const {
  const size_t question = target.find('?');
  if (question == std::string::npos) return "";
  const std::string query = target.substr(question + 1);
  for (size_t at = 0; at <= query.size();) {
    size_t end = query.find('&', at);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(at, end - at);
    if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
    at = end + 1;
  }
  return "";
}

FakeResponse FakeResponse::html(std::string body, int status) {
  FakeResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

FakeResponse FakeResponse::json(std::string body) {
  FakeResponse r;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

FakeResponse FakeResponse::bytes(std::string body, std::string content_type) {
  FakeResponse r;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

FakeResponse FakeResponse::redirect(std::string location, int status) {
  FakeResponse r;
  r.status = status;
  r.headers.push_back({"Location", std::move(location)});
  return r;
}

FakeServer::FakeServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("FakeServer: socket() failed");
  const int yes = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // the system picks a free port
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0 || ::pipe(wake_pipe_) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("FakeServer: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  accept_thread_ = std::thread([this] { accept_loop(); });
}

FakeServer::~FakeServer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes a serve() blocked in recv/send
  }
  stopping_cv_.notify_all();  // wakes the stalled answers
  const char wake = 1;
  (void)!::write(wake_pipe_[1], &wake, 1);  // wakes accept_loop's poll
  accept_thread_.join();
  for (std::thread& thread : connection_threads_) thread.join();  // no new ones: accept_loop has ended
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

std::string FakeServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string FakeServer::url(const std::string& path) const { return base_url() + path; }

void FakeServer::route(const std::string& path, Handler handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  routes_[path] = std::move(handler);
}

void FakeServer::route(const std::string& path, FakeResponse fixed) {
  route(path, [fixed](const FakeRequest&) { return fixed; });
}

int FakeServer::hits(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  int count = 0;
  for (const FakeRequest& request : requests_) count += request.path == path;
  return count;
}

std::vector<FakeRequest> FakeServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void FakeServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;  // EINTR
    if (fds[1].revents) return;            // the destructor wants us gone
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    open_fds_.insert(fd);
    connection_threads_.emplace_back([this, fd] { serve(fd); });
  }
}

bool FakeServer::wait_unless_stopping(double seconds) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !stopping_cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stopping_; });
}

void FakeServer::serve(int fd) {
  timeval receive_limit{5, 0};  // a client that sends nothing cannot hold the thread for long
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_limit, sizeof receive_limit);
  FakeRequest request;
  if (read_request(fd, request)) {
    Handler handler;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
      if (auto it = routes_.find(request.path); it != routes_.end()) handler = it->second;
    }
    const FakeResponse response = handler ? handler(request) : FakeResponse::html("not found", 404);
    std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " + status_text(response.status) + "\r\n";
    head += "Content-Type: " + response.content_type + "\r\nConnection: close\r\n";
    if (response.send_content_length)
      head += "Content-Length: " +
              std::to_string(response.content_length >= 0 ? uint64_t(response.content_length) : response.body.size()) +
              "\r\n";
    for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
    head += "\r\n";
    const size_t body_bytes = std::min(response.body.size(), response.stall_after_bytes);
    if (send_all(fd, head.data(), head.size()) && send_all(fd, response.body.data(), body_bytes) &&
        body_bytes < response.body.size() && wait_unless_stopping(kLongestStallSeconds))
      send_all(fd, response.body.data() + body_bytes, response.body.size() - body_bytes);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  open_fds_.erase(fd);
  ::close(fd);
}

int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("unused_port: cannot bind a socket on 127.0.0.1");
  }
  ::close(fd);  // bound but never listened on: connections are refused
  return ntohs(address.sin_port);
}

std::string image_page_json(const std::vector<std::string>& image_urls, const std::string& next) {
  std::string text = R"({"ads":null,"query":"q","response_type":"images","results":[)";
  for (size_t i = 0; i < image_urls.size(); ++i) {
    const std::string n = std::to_string(i);
    text += (i ? "," : "") + std::string(R"({"height":480,"width":640,"image":)") + json::quote(image_urls[i]) +
            R"(,"image_token":"t)" + n + R"(","source":"Bing","thumbnail":"https://tse.example/th?id=)" + n +
            R"(","title":"picture )" + n + R"(","url":"https://page.example/)" + n + R"("})";
  }
  text += "]";
  if (!next.empty()) text += ",\"next\":" + json::quote(next);
  return text + "}";
}

}  // namespace ember::test
