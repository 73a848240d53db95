#include "signers/secure_memory.hpp"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace txguard::signers {

namespace {

std::string failure(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

void wipe_bytes(void* data, std::size_t size) noexcept {
  // explicit_bzero is not removed as a dead store.
  explicit_bzero(data, size);
}

}  // namespace

std::expected<void, std::string> harden_process() {
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) return std::unexpected(failure("setrlimit(RLIMIT_CORE, 0)"));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return std::unexpected(failure("prctl(PR_SET_DUMPABLE, 0)"));
  return {};
}

std::expected<LockedPage, std::string> LockedPage::allocate(std::size_t bytes) {
  const long page = sysconf(_SC_PAGESIZE);
  const std::size_t page_size = page > 0 ? static_cast<std::size_t>(page) : 4096;
  const std::size_t size = (bytes + page_size - 1) / page_size * page_size;
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) return std::unexpected(failure("mmap"));
  LockedPage out(data, size);  // unmapped by its destructor on any failure below
  if (madvise(data, size, MADV_DONTDUMP) != 0) return std::unexpected(failure("madvise(MADV_DONTDUMP)"));
  // Not inherited by a child either: a fork never carries the key.
  if (madvise(data, size, MADV_DONTFORK) != 0) return std::unexpected(failure("madvise(MADV_DONTFORK)"));
  // The system call itself: sanitizer runtimes replace mlock() with a no-op that reports success.
  if (syscall(SYS_mlock, data, size) != 0) {
    return std::unexpected(failure("mlock") + " (raise the locked-memory limit, e.g. systemd LimitMEMLOCK)");
  }
  return out;
}

LockedPage::LockedPage(LockedPage&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

LockedPage& LockedPage::operator=(LockedPage&& other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

LockedPage::~LockedPage() { release(); }

void LockedPage::release() noexcept {
  if (data_ == nullptr) return;
  wipe_bytes(data_, size_);
  syscall(SYS_munlock, data_, size_);
  munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

std::expected<std::string, std::string> take_environment_secret(const std::string& name) {
  char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::unexpected(name + " is not set");
  std::string out(value);
  // The value's bytes stay where the kernel shows them (/proc/PID/environ) until overwritten.
  wipe_bytes(value, std::strlen(value));
  unsetenv(name.c_str());
  return out;
}

}  // namespace txguard::signers
