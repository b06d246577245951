// build_timer.h: where `psyncc build` spends its time, per stage (start-up,
// front end, lowering, optimisation, code generation, link), printed to stderr
// when PSYNC_TIME_BUILD is set in the environment (bench/compile reads it).
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace psync::driver {

class BuildTimer {
 public:
  BuildTimer() : enabled_(std::getenv("PSYNC_TIME_BUILD") != nullptr) {
    if (!enabled_) return;
    // CPU spent before run_build: process start-up (loader, static
    // initialisers) and argument parsing.
    last_wall_ = std::chrono::steady_clock::now();
    last_cpu_ = cpu_ms(RUSAGE_SELF);
    stages_.push_back({"start-up (CPU only)", 0, last_cpu_});
  }
  BuildTimer(const BuildTimer&) = delete;
  BuildTimer& operator=(const BuildTimer&) = delete;

  // Closes the stage that ran since the previous mark.
  void mark(const char* stage) {
    if (!enabled_) return;
    auto wall = std::chrono::steady_clock::now();
    double cpu = cpu_ms(RUSAGE_SELF) + cpu_ms(RUSAGE_CHILDREN);
    stages_.push_back({stage, std::chrono::duration<double, std::milli>(wall - last_wall_).count(), cpu - last_cpu_});
    last_wall_ = wall;
    last_cpu_ = cpu;
  }

  ~BuildTimer() {
    if (!enabled_) return;
    double wall = 0, cpu = 0;
    for (const auto& s : stages_) {
      std::fprintf(stderr, "psyncc: time: %-24s %8.1f ms wall %8.1f ms CPU\n", s.name.c_str(), s.wall_ms, s.cpu_ms);
      wall += s.wall_ms;
      cpu += s.cpu_ms;
    }
    std::fprintf(stderr, "psyncc: time: %-24s %8.1f ms wall %8.1f ms CPU\n", "total", wall, cpu);
  }

 private:
  struct Stage {
    std::string name;
    double wall_ms, cpu_ms;
  };
  static double cpu_ms(int who) {
    rusage u{};
    getrusage(who, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
  }
  bool enabled_;
  std::chrono::steady_clock::time_point last_wall_;
  double last_cpu_ = 0;
  std::vector<Stage> stages_;
};

}  // namespace psync::driver
