// Prometheus metrics (text exposition format 0.0.4):
//   txguard_http_requests_total{route,code}              counter
//   txguard_http_request_duration_seconds{route}         histogram (0.5 ms .. 5 s)
//   txguard_decisions_total{verdict,rule}                counter
//   txguard_decision_reasons_total{reason}               counter
//   txguard_refusals_total{reason}                       counter (authentication, role, rate)
//   txguard_refusals_summarized_total                    counter: refusals beyond their address's rate,
//                                                        recorded in a refusals-suppressed summary
//   txguard_holds_pending                                gauge
//   txguard_limit_headroom{limit,scope}                  gauge: what the last decision left in the ledger,
//                                                        in the limit's unit (USD micro-dollars for max_usd)
//   txguard_alerts_total{alert}                          counter: release-conflict (a bridge deposit asked
//                                                        to be released under another attested body)
//   txguard_batches_total                                counter (group commits)
// Label values are escaped; the headroom series are capped (kMaxHeadroomSeries, oldest dropped) so
// per-destination scopes cannot grow the page without bound.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>
#include <tuple>

#include <nlohmann/json.hpp>

namespace txguard::service {

class Metrics {
 public:
  static constexpr std::size_t kMaxHeadroomSeries = 1000;
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,  0.5,   1.0,  5.0};

  void request(const std::string& route, unsigned code, double seconds);
  /// Counts a decision (its JSON: verdict, rule, reasons, limits).
  void decision(const nlohmann::json& decision);
  void refusal(const std::string& reason);
  /// A refusal counted into a summary record instead of a record of its own.
  void refusal_summarized();

  /// The exposition text. `pending_holds` and `batches` come from the pipeline.
  std::string render(std::int64_t pending_holds, std::uint64_t batches) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> counts{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
  std::map<std::string, Histogram> durations_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> decisions_;
  std::map<std::string, std::uint64_t> reasons_;
  std::map<std::string, std::uint64_t> refusals_;
  std::map<std::pair<std::string, std::string>, std::string> headroom_;
  std::deque<std::pair<std::string, std::string>> headroom_order_;
  std::uint64_t release_conflicts_ = 0;
  std::uint64_t refusals_summarized_ = 0;
};

/// The sequencer's time by stage (Pipeline::stage_seconds) as the counter
/// txguard_stage_seconds_total{stage="..."}.
std::string render_stage_seconds(const std::vector<std::pair<std::string, double>>& stages);

}  // namespace txguard::service
