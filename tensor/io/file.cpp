// See file.h. POSIX calls, so that the temporary file can be fsync'ed before the rename.
#include "tensor/io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "tensor/error.h"

namespace ember {
namespace {

// Closes a POSIX file descriptor when it goes out of scope.
struct FileDescriptor {
  int fd = -1;
  explicit FileDescriptor(int fd) : fd(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void throw_errno(const std::string& message) {
  const int error = errno;  // before anything else can change it
  throw Error(message + ": " + std::strerror(error));
}

}  // namespace

std::string read_file(const std::string& path, const std::string& where_prefix) {
  const std::string where = where_prefix + ": cannot read '" + path + "'";
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.fd < 0) throw_errno(where);
  struct stat info {};
  if (::fstat(file.fd, &info) != 0) throw_errno(where);
  if (S_ISDIR(info.st_mode)) {
    errno = EISDIR;
    throw_errno(where);
  }
  std::string bytes;
  std::vector<char> chunk(1 << 20);
  while (true) {
    const ssize_t n = ::read(file.fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(where);
    if (n == 0) return bytes;
    bytes.append(chunk.data(), static_cast<size_t>(n));
  }
}

AtomicFile::AtomicFile(const std::string& target, const std::string& where)
    : target_(target), path_(target + ".tmp-" + std::to_string(::getpid())), where_(where) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_errno(where_ + ": cannot create the temporary file '" + path_ + "'");
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(path_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(where_ + ": cannot write the temporary file '" + path_ + "'");
    bytes += n;
    size -= static_cast<size_t>(n);
  }
}

// Flushes the bytes to disk, then renames the file into place: readers see the old file or the
// complete new one, never a part.
void AtomicFile::commit() {
  if (::fsync(fd_) != 0) throw_errno(where_ + ": cannot flush the temporary file '" + path_ + "'");
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) throw_errno(where_ + ": cannot close the temporary file '" + path_ + "'");
  if (::rename(path_.c_str(), target_.c_str()) != 0)
    throw_errno(where_ + ": cannot rename '" + path_ + "' to '" + target_ + "'");
  committed_ = true;
  // Makes the rename itself durable. Best effort: the file is complete either way.
  std::filesystem::path directory = std::filesystem::path(target_).parent_path();
  if (directory.empty()) directory = ".";
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd >= 0) ::fsync(dir.fd);
}

void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& where) {
  AtomicFile file(path, where);
  file.write(bytes);
  file.commit();
}

}  // namespace ember
