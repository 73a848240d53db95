// Runs a libFuzzer entry point without libFuzzer: over every file in the corpus directory given as
// argv[1], then over deterministic pseudo-random inputs and single-byte mutations of the corpus:
// 20,000 of them, or argv[2] (for a target whose every input costs real I/O, such as fuzz_rpc).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::vector<std::vector<std::uint8_t>> corpus;
  if (argc > 1 && std::filesystem::is_directory(argv[1])) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  for (const auto& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
  long count = 20000;
  if (argc > 2) count = std::strtol(argv[2], nullptr, 10);
  std::mt19937_64 rng(0x7478677561726400ULL);  // fixed seed: reproducible
  std::size_t runs = corpus.size();
  for (long i = 0; i < count; ++i, ++runs) {
    std::vector<std::uint8_t> input;
    if (!corpus.empty() && (i % 2 == 0)) {
      input = corpus[rng() % corpus.size()];
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips && !input.empty(); ++f) {
        input[rng() % input.size()] = static_cast<std::uint8_t>(rng());
      }
      if (!input.empty() && rng() % 8 == 0) input.resize(rng() % input.size());
    } else {
      input.resize(rng() % 256);
      for (auto& b : input) b = static_cast<std::uint8_t>(rng());
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("replayed %zu inputs (%zu from the corpus)\n", runs, corpus.size());
  return 0;
}
