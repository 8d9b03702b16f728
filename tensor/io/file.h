// Whole-file reading and atomic writing, shared by every writer in Ember (safetensors, figures,
// reports, results.json): a file on disk is either the old one or the complete new one, never a
// half-written one, even when the program is killed in the middle.
#pragma once
#include <string>
#include <string_view>

namespace ember {

// The bytes of the file at `path`. Errors start with `where` and name the path and the OS reason:
// "load_safetensors: cannot read 'w.safetensors': No such file or directory".
std::string read_file(const std::string& path, const std::string& where);

// A temporary file next to `target` ("<target>.tmp-<pid>") that is renamed over `target` by
// commit(), after its bytes are flushed to disk. Destroyed without commit() (an exception on the
// way), it is deleted and `target` is left as it was.
class AtomicFile {
 public:
  AtomicFile(const std::string& target, const std::string& where);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  void write(const void* data, size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  void commit();
  const std::string& temporary_path() const { return path_; }

 private:
  std::string target_, path_, where_;
  int fd_ = -1;
  bool committed_ = false;
};

// write_file_atomically("out/results.json", text, "results.json") in one call.
void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& where);

}  // namespace ember
