// Keeping key material out of core dumps, swap and other processes' reach.
//
// The co-signing key is the one secret txguard exists to guard. Three things can copy it out of the
// process without any bug in the signing code: a core dump (an abort with a core limit set wrote the raw
// key into the core file), swap, and a same-user debugger or /proc/PID/mem reader. So:
//   - harden_process() makes the process non-dumpable (PR_SET_DUMPABLE 0: no core file, and ptrace
//     and /proc/PID/mem are refused to other processes of the same user) and sets RLIMIT_CORE to 0;
//   - a LockedSecret keeps its bytes in a page of its own, locked in RAM (mlock: never swapped) and
//     excluded from any core dump (MADV_DONTDUMP), wiped before the page is returned;
//   - take_environment_secret() reads a passphrase from the environment and removes it, overwriting
//     the value where the kernel shows it (/proc/PID/environ), so it is read once.
//
// Linux only. Thread safety: harden_process and take_environment_secret must run before other threads
// start (they change process-wide state); a LockedSecret is a value owned by one object.
#pragma once

#include <cstddef>
#include <expected>
#include <memory>
#include <string>

namespace txguard::signers {

/// Makes the process non-dumpable and its core size limit 0 (soft and hard). Returns what failed (no
/// secret in it); the caller refuses to handle keys then.
std::expected<void, std::string> harden_process();

/// One page of memory, locked and excluded from core dumps, holding a T constructed in it. T must be
/// trivially destructible or wipe itself; the page is zeroed before it is unmapped.
class LockedPage {
 public:
  /// Maps, locks and marks the page; fails with the system call that failed and its errno text.
  static std::expected<LockedPage, std::string> allocate(std::size_t bytes);
  LockedPage(LockedPage&& other) noexcept;
  LockedPage& operator=(LockedPage&& other) noexcept;
  LockedPage(const LockedPage&) = delete;
  LockedPage& operator=(const LockedPage&) = delete;
  ~LockedPage();

  void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  LockedPage(void* data, std::size_t size) noexcept : data_(data), size_(size) {}
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

/// The value of environment variable `name`, removed from the environment with its bytes overwritten in
/// place (so /proc/PID/environ no longer shows it); fails with "<name> is not set" when it is not set.
std::expected<std::string, std::string> take_environment_secret(const std::string& name);

}  // namespace txguard::signers
