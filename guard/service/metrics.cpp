#include "guard/service/metrics.hpp"

#include <sstream>

namespace txguard::service {

namespace {

// Prometheus label values escape backslash, double quote and newline.
std::string escape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

void Metrics::request(const std::string& route, unsigned code, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, code}];
  Histogram& h = durations_[route];
  ++h.count;
  h.sum += seconds;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.counts[i];
  }
}

void Metrics::decision(const nlohmann::json& decision) {
  if (!decision.is_object()) return;
  const std::string verdict = decision.value("verdict", "");
  const std::string rule = decision.contains("rule") && decision.at("rule").is_string()
                               ? decision.at("rule").get<std::string>()
                               : std::string();
  std::lock_guard lock(mutex_);
  ++decisions_[{verdict, rule}];
  if (decision.contains("reasons")) {
    for (const auto& r : decision.at("reasons")) {
      const std::string code = r.value("code", "");
      ++reasons_[code];
      // A deposit released under another attested body: someone holds validator keys or the
      // requester is replaying; page a human.
      if (code == "release-conflict") ++release_conflicts_;
    }
  }
  if (decision.contains("limits") && verdict != "deny") {
    for (const auto& l : decision.at("limits")) {
      std::pair<std::string, std::string> key{l.value("limit", ""), l.value("scope", "")};
      // What is left after this request: the headroom before it minus its amount (decimal strings;
      // the gauge is a float anyway).
      const double left = std::stod(l.value("headroom", "0")) - std::stod(l.value("amount", "0"));
      const bool fresh = headroom_.find(key) == headroom_.end();
      headroom_[key] = std::to_string(left < 0 ? 0 : left);
      if (fresh) {
        headroom_order_.push_back(key);
        if (headroom_order_.size() > kMaxHeadroomSeries) {
          headroom_.erase(headroom_order_.front());
          headroom_order_.pop_front();
        }
      }
    }
  }
}

void Metrics::refusal(const std::string& reason) {
  std::lock_guard lock(mutex_);
  ++refusals_[reason];
}

void Metrics::refusal_summarized() {
  std::lock_guard lock(mutex_);
  ++refusals_summarized_;
}

std::string render_stage_seconds(const std::vector<std::pair<std::string, double>>& stages) {
  std::ostringstream out;
  out << "# HELP txguard_stage_seconds_total Sequencer time by stage: settle, gather, judge, sign, record, other, "
         "commit (COMMIT and fsync).\n"
         "# TYPE txguard_stage_seconds_total counter\n";
  for (const auto& [stage, seconds] : stages) {
    out << "txguard_stage_seconds_total{stage=\"" << stage << "\"} " << seconds << '\n';
  }
  return out.str();
}

std::string Metrics::render(std::int64_t pending_holds, std::uint64_t batches) const {
  std::ostringstream out;
  std::lock_guard lock(mutex_);
  out << "# HELP txguard_http_requests_total HTTP requests by route and status code.\n"
         "# TYPE txguard_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out << "txguard_http_requests_total{route=\"" << escape(key.first) << "\",code=\"" << key.second << "\"} " << n
        << '\n';
  }
  out << "# HELP txguard_http_request_duration_seconds Time from a complete request to its response.\n"
         "# TYPE txguard_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : durations_) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out << "txguard_http_request_duration_seconds_bucket{route=\"" << escape(route) << "\",le=\"" << kBuckets[i]
          << "\"} " << h.counts[i] << '\n';
    }
    out << "txguard_http_request_duration_seconds_bucket{route=\"" << escape(route) << "\",le=\"+Inf\"} " << h.count
        << '\n';
    out << "txguard_http_request_duration_seconds_sum{route=\"" << escape(route) << "\"} " << h.sum << '\n';
    out << "txguard_http_request_duration_seconds_count{route=\"" << escape(route) << "\"} " << h.count << '\n';
  }
  out << "# HELP txguard_decisions_total Decisions by verdict and deciding rule.\n"
         "# TYPE txguard_decisions_total counter\n";
  for (const auto& [key, n] : decisions_) {
    out << "txguard_decisions_total{verdict=\"" << escape(key.first) << "\",rule=\"" << escape(key.second) << "\"} "
        << n << '\n';
  }
  out << "# HELP txguard_decision_reasons_total Reasons given with decisions, by code.\n"
         "# TYPE txguard_decision_reasons_total counter\n";
  for (const auto& [code, n] : reasons_) {
    out << "txguard_decision_reasons_total{reason=\"" << escape(code) << "\"} " << n << '\n';
  }
  out << "# HELP txguard_refusals_total Requests refused before judgement (authentication, role, rate).\n"
         "# TYPE txguard_refusals_total counter\n";
  for (const auto& [reason, n] : refusals_) {
    out << "txguard_refusals_total{reason=\"" << escape(reason) << "\"} " << n << '\n';
  }
  out << "# HELP txguard_refusals_summarized_total Refusals beyond their address's rate, recorded in a "
         "refusals-suppressed summary instead of one record each.\n"
         "# TYPE txguard_refusals_summarized_total counter\n"
      << "txguard_refusals_summarized_total " << refusals_summarized_ << '\n';
  out << "# HELP txguard_holds_pending Held requests waiting for approvals.\n"
         "# TYPE txguard_holds_pending gauge\n"
      << "txguard_holds_pending " << pending_holds << '\n';
  out << "# HELP txguard_limit_headroom What the last decision left in each limit ledger, in the limit's unit.\n"
         "# TYPE txguard_limit_headroom gauge\n";
  for (const auto& [key, value] : headroom_) {
    out << "txguard_limit_headroom{limit=\"" << escape(key.first) << "\",scope=\"" << escape(key.second) << "\"} "
        << value << '\n';
  }
  out << "# HELP txguard_alerts_total Events that need a human now (release-conflict: a deposit asked to be released "
         "under another attested body).\n"
         "# TYPE txguard_alerts_total counter\n"
      << "txguard_alerts_total{alert=\"release-conflict\"} " << release_conflicts_ << '\n';
  out << "# HELP txguard_batches_total Group commits of the decision log.\n"
         "# TYPE txguard_batches_total counter\n"
      << "txguard_batches_total " << batches << '\n';
  return out.str();
}

}  // namespace txguard::service
