#include "policy/validator_sets.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "policy/codec/secp256k1.hpp"
#include "policy/units.hpp"

namespace txguard::policy {
namespace {

using codec::Address;
using codec::Vaa;
using nlohmann::json;

VaaVerification refuse(std::string reason, std::string detail) {
  VaaVerification out;
  out.valid = false;
  out.reason = std::move(reason);
  out.detail = std::move(detail);
  return out;
}

TimeMs seconds_to_ms(std::uint32_t seconds) { return static_cast<TimeMs>(seconds) * 1000; }

// The checks a guardian set upgrade must pass before it may install a set (Governance.sol
// submitNewGuardianSet, verifyGovernanceVM): signed by a quorum of the current set, from the
// governance emitter, module "Core" action 2 for every chain, index current + 1, a non-empty set of
// distinct non-zero keys. Zero and duplicate keys are refused although the contracts do not check
// them: a zero key can never sign (so it silently raises the quorum) and a duplicate lets one key
// count twice. Returns the new set, or why not.
std::expected<ValidatorSet, VaaVerification> check_upgrade(const ValidatorSetHistory& history, const Vaa& vaa, TimeMs at) {
  if (history.sets.empty()) return std::unexpected(refuse("validator-set-unknown", "the history has no set"));
  const ValidatorSet& current = history.current();
  if (vaa.guardian_set_index != current.index) {
    return std::unexpected(refuse("not-current-set", "signed by set " + std::to_string(vaa.guardian_set_index) +
                                                         ", the current set is " + std::to_string(current.index)));
  }
  VaaVerification verified = verify_vaa(vaa, history, at, QuorumRule{});
  if (!verified.valid) return std::unexpected(std::move(verified));
  if (vaa.body.emitter_chain != history.governance_chain || vaa.body.emitter_address != history.governance_emitter) {
    return std::unexpected(refuse("not-governance-emitter", "emitter " + std::to_string(vaa.body.emitter_chain) + "/" +
                                                                codec::to_hex(vaa.body.emitter_address) +
                                                                " is not the governance emitter"));
  }
  auto upgrade = codec::decode_guardian_set_upgrade(vaa.body.payload);
  if (!upgrade) {
    if (upgrade.error().code == codec::DecodeErrc::kInvalidField && upgrade.error().detail == "no keys") {
      return std::unexpected(refuse("empty-new-set", "the upgrade installs no keys"));
    }
    return std::unexpected(refuse("not-a-guardian-set-upgrade", upgrade.error().message()));
  }
  if (upgrade->chain != 0) {
    return std::unexpected(refuse("not-a-guardian-set-upgrade",
                                  "the upgrade is for chain " + std::to_string(upgrade->chain) + " only, not every chain"));
  }
  if (current.index == UINT32_MAX || upgrade->new_index != current.index + 1) {
    return std::unexpected(refuse("bad-new-index", "new index " + std::to_string(upgrade->new_index) +
                                                       ", expected " + std::to_string(current.index) + " + 1"));
  }
  std::set<Address> seen;
  for (std::size_t i = 0; i < upgrade->keys.size(); ++i) {
    const Address& key = upgrade->keys[i];
    if (key.is_zero()) return std::unexpected(refuse("zero-key", "key " + std::to_string(i) + " is the zero address"));
    if (!seen.insert(key).second) {
      return std::unexpected(refuse("duplicate-key", "key " + std::to_string(i) + " (" + codec::to_checksum(key) + ") repeats"));
    }
  }
  if (at < seconds_to_ms(vaa.body.timestamp)) {
    return std::unexpected(refuse("valid-before-signed", "the new set would be valid from " + format_time(at) +
                                                             ", before the upgrade was signed at " +
                                                             format_time(seconds_to_ms(vaa.body.timestamp))));
  }
  ValidatorSet next;
  next.index = upgrade->new_index;
  for (const Address& key : upgrade->keys) next.validators.push_back({key, codec::to_checksum(key)});
  next.valid_from_ms = at;
  next.upgrade = codec::encode_vaa(vaa);
  return next;
}

std::string format_duration(TimeMs ms) {
  if (ms > 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms > 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms > 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Collects "PATH: problem" lines; the loader reports all it finds, not only the first.
struct Problems {
  std::vector<std::string> lines;
  void add(const std::string& path, const std::string& what) { lines.push_back(path + ": " + what); }
  void unknown_fields(const json& object, const std::string& path, std::initializer_list<std::string_view> known) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) == known.end()) add(path + "." + it.key(), "unknown field");
    }
  }
};

std::optional<std::string> get_string(const json& object, std::string_view key, const std::string& path, Problems& p,
                                      bool required = true) {
  const auto it = object.find(key);
  if (it == object.end()) {
    if (required) p.add(path + "." + std::string(key), "missing");
    return std::nullopt;
  }
  if (!it->is_string()) {
    p.add(path + "." + std::string(key), "must be a string");
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::optional<std::uint64_t> get_uint(const json& object, std::string_view key, const std::string& path, Problems& p,
                                      std::uint64_t max) {
  const auto it = object.find(key);
  if (it == object.end()) {
    p.add(path + "." + std::string(key), "missing");
    return std::nullopt;
  }
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() > max) {
    p.add(path + "." + std::string(key), "must be an integer from 0 to " + std::to_string(max));
    return std::nullopt;
  }
  return it->get<std::uint64_t>();
}

std::optional<TimeMs> get_time(const json& object, std::string_view key, const std::string& path, Problems& p) {
  auto text = get_string(object, key, path, p);
  if (!text) return std::nullopt;
  auto t = parse_time(*text);
  if (!t) {
    p.add(path + "." + std::string(key), t.error());
    return std::nullopt;
  }
  return *t;
}

// A set's own shape: non-empty, no zero and no duplicate address (the genesis set has no upgrade VAA
// to be checked against, so these are checked for every set).
void check_members(const ValidatorSet& set, const std::string& path, Problems& p) {
  if (set.validators.empty()) p.add(path + ".validators", "a validator set cannot be empty");
  std::set<Address> seen;
  for (std::size_t i = 0; i < set.validators.size(); ++i) {
    const Address& a = set.validators[i].address;
    const std::string at = path + ".validators[" + std::to_string(i) + "]";
    if (a.is_zero()) p.add(at + ".address", "the zero address cannot sign");
    if (!seen.insert(a).second) p.add(at + ".address", codec::to_checksum(a) + " appears twice");
  }
}

}  // namespace

const ValidatorSet* ValidatorSetHistory::find(std::uint32_t index) const {
  for (const auto& set : sets) {
    if (set.index == index) return &set;
  }
  return nullptr;
}

const ValidatorSet& ValidatorSetHistory::current() const { return sets.back(); }

std::size_t required_signatures(std::size_t n, const QuorumRule& rule) {
  // Messages.sol: ((keys.length * 2) / 3) + 1. n is at most a few hundred, so 2n cannot overflow.
  return std::max(n * 2 / 3 + 1, rule.min_signatures);
}

std::optional<std::string_view> set_unusable(const ValidatorSetHistory& history, std::uint32_t index, TimeMs at) {
  const ValidatorSet* set = history.find(index);
  if (set == nullptr) return "validator-set-unknown";
  if (set->validators.empty()) return "validator-set-empty";
  if (at < set->valid_from_ms) return "validator-set-not-yet-valid";
  if (set->expires_at_ms && at >= *set->expires_at_ms) return "validator-set-expired";
  return std::nullopt;
}

QuorumCheck check_quorum(const ValidatorSet& set, std::span<const std::size_t> member_indices, const QuorumRule& rule) {
  QuorumCheck out;
  std::set<std::size_t> members;
  for (std::size_t i : member_indices) {
    if (i < set.validators.size()) members.insert(i);
  }
  std::set<std::string_view> operators;
  for (std::size_t i : members) operators.insert(set.validators[i].operator_name);
  out.signatures = members.size();
  out.required = required_signatures(set.validators.size(), rule);
  out.operators = operators.size();
  if (out.signatures < out.required) {
    out.reason = "no-quorum";
    out.detail = std::to_string(out.signatures) + " of " + std::to_string(set.validators.size()) +
                 " signatures, " + std::to_string(out.required) + " required";
    return out;
  }
  if (out.operators < rule.min_operators) {
    out.reason = "too-few-operators";
    out.detail = std::to_string(out.operators) + " distinct operators among the signers, " +
                 std::to_string(rule.min_operators) + " required";
    return out;
  }
  out.ok = true;
  return out;
}

VaaVerification verify_vaa(const Vaa& vaa, const ValidatorSetHistory& history, TimeMs at, const QuorumRule& rule) {
  // The version byte is outside the signed body: a VAA whose version was changed still carries valid
  // signatures, so it must be refused here (Messages.sol parseVM: require(vm.version == 1)).
  if (vaa.version != 1) return refuse("bad-version", "version " + std::to_string(vaa.version) + ", only 1 is known");
  // The set index is outside the signed body too: judging by another set than the one named would let
  // a VAA signed by an expired set pass as a current one.
  if (auto why = set_unusable(history, vaa.guardian_set_index, at)) {
    std::string detail = "guardian set " + std::to_string(vaa.guardian_set_index);
    if (const ValidatorSet* set = history.find(vaa.guardian_set_index)) {
      if (*why == "validator-set-expired") detail += " expired at " + format_time(*set->expires_at_ms);
      if (*why == "validator-set-not-yet-valid") detail += " is valid from " + format_time(set->valid_from_ms);
    }
    return refuse(std::string(*why), detail + " (at " + format_time(at) + ")");
  }
  const ValidatorSet& set = *history.find(vaa.guardian_set_index);
  const std::size_t n = set.validators.size();
  const std::size_t required = required_signatures(n, rule);
  // Count first, as Messages.sol does: zero signatures is never vacuously valid (the Feb-2022 Solana
  // exploit skipped signature verification altogether).
  if (vaa.signatures.size() < required) {
    auto out = refuse("no-quorum", std::to_string(vaa.signatures.size()) + " signatures, " + std::to_string(required) +
                                       " required of " + std::to_string(n));
    out.required = required;
    return out;
  }
  VaaVerification out;
  out.required = required;
  std::vector<std::size_t> members;
  int last = -1;
  for (const auto& sig : vaa.signatures) {
    const std::string who = "guardian index " + std::to_string(sig.guardian_index);
    // Strictly ascending indices: a repeated index would count one guardian twice.
    if (static_cast<int>(sig.guardian_index) <= last) {
      return refuse("signer-indices-not-ascending", who + " after " + std::to_string(last));
    }
    last = sig.guardian_index;
    if (sig.guardian_index >= n) return refuse("guardian-index-out-of-range", who + ", the set has " + std::to_string(n));
    // Guardians write the raw recovery id; the EVM core adds 27, so 2 and 3 recover nothing there.
    if (sig.v > 1) return refuse("bad-recovery-id", who + ": v = " + std::to_string(sig.v) + ", only 0 or 1");
    // Guardians sign with go-ethereum's crypto.Sign, which gives low s (EIP-2). A high-s signature is
    // the malleated twin of a valid one; no real VAA carries one, so it is refused.
    if (!codec::is_low_s(sig.s)) return refuse("non-canonical-signature", who + ": s > n/2");
    const Address& expected = set.validators[sig.guardian_index].address;
    auto recovered = codec::recover_address(vaa.digest, sig.r, sig.s, sig.v, codec::SPolicy::kLowSOnly);
    if (!recovered) return refuse("signature-invalid", who + ": " + recovered.error().message() + ", expected " + codec::to_checksum(expected));
    if (*recovered != expected) {
      return refuse("signature-invalid", who + ": recovered " + codec::to_checksum(*recovered) + ", expected " +
                                             codec::to_checksum(expected));
    }
    out.signers.emplace_back(sig.guardian_index, *recovered);
    members.push_back(sig.guardian_index);
  }
  const QuorumCheck quorum = check_quorum(set, members, rule);
  out.operators = quorum.operators;
  if (!quorum.ok) {
    out.reason = quorum.reason;
    out.detail = quorum.detail;
    out.signers.clear();
    return out;
  }
  out.valid = true;
  return out;
}

std::expected<ValidatorSetHistory, VaaVerification> apply_upgrade(const ValidatorSetHistory& history, const Vaa& vaa, TimeMs at) {
  auto next = check_upgrade(history, vaa, at);
  if (!next) return std::unexpected(std::move(next.error()));
  ValidatorSetHistory out = history;
  if (at > INT64_MAX - out.overlap_ms) return std::unexpected(refuse("validator-set-expired", "time out of range"));
  out.sets.back().expires_at_ms = at + out.overlap_ms;
  out.sets.push_back(std::move(*next));
  return out;
}

std::expected<ValidatorSetHistory, std::vector<std::string>> load_validator_sets(std::string_view text) {
  Problems p;
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::unexpected(std::vector<std::string>{"$: not a JSON object"});
  p.unknown_fields(doc, "$", {"txguard_validator_sets", "name", "times", "overlap", "governance", "sets"});
  if (auto v = doc.find("txguard_validator_sets"); v == doc.end() || !v->is_number_unsigned() || v->get<std::uint64_t>() != 1) {
    p.add("$.txguard_validator_sets", "must be 1");
  }
  ValidatorSetHistory h;
  h.name = get_string(doc, "name", "$", p).value_or("");
  h.times_note = get_string(doc, "times", "$", p).value_or("");
  if (auto overlap = get_string(doc, "overlap", "$", p, false)) {
    auto d = parse_duration(*overlap);
    if (!d) p.add("$.overlap", d.error());
    else h.overlap_ms = *d;
  }
  if (auto g = doc.find("governance"); g != doc.end()) {
    if (!g->is_object()) {
      p.add("$.governance", "must be an object");
    } else {
      p.unknown_fields(*g, "$.governance", {"chain", "emitter"});
      if (auto chain = get_uint(*g, "chain", "$.governance", p, UINT16_MAX)) h.governance_chain = static_cast<std::uint16_t>(*chain);
      if (auto emitter = get_string(*g, "emitter", "$.governance", p)) {
        auto e = codec::from_hex_fixed<32>(*emitter);
        if (!e || !emitter->starts_with("0x")) p.add("$.governance.emitter", "must be 0x and 32 bytes of hex");
        else h.governance_emitter = *e;
      }
    }
  }
  const auto sets = doc.find("sets");
  if (sets == doc.end() || !sets->is_array() || sets->empty()) {
    p.add("$.sets", "must be a non-empty array");
    return std::unexpected(std::move(p.lines));
  }
  for (std::size_t i = 0; i < sets->size(); ++i) {
    const json& s = (*sets)[i];
    const std::string path = "$.sets[" + std::to_string(i) + "]";
    if (!s.is_object()) {
      p.add(path, "must be an object");
      return std::unexpected(std::move(p.lines));
    }
    const std::size_t before = p.lines.size();
    p.unknown_fields(s, path, {"index", "valid_from", "expires_at", "validators", "upgrade"});
    ValidatorSet set;
    auto index = get_uint(s, "index", path, p, UINT32_MAX);
    if (index) set.index = static_cast<std::uint32_t>(*index);
    if (index && i > 0 && !h.sets.empty() && *index != static_cast<std::uint64_t>(h.sets.back().index) + 1) {
      p.add(path + ".index", "must be " + std::to_string(h.sets.back().index + 1ULL) + " (indices are contiguous)");
    }
    set.valid_from_ms = get_time(s, "valid_from", path, p).value_or(0);
    if (s.contains("expires_at")) set.expires_at_ms = get_time(s, "expires_at", path, p);
    const bool last = i + 1 == sets->size();
    if (last && set.expires_at_ms) p.add(path + ".expires_at", "the current (last) set does not expire");
    if (!last && !s.contains("expires_at")) p.add(path + ".expires_at", "missing: every replaced set expires");
    const auto validators = s.find("validators");
    if (validators == s.end() || !validators->is_array()) {
      p.add(path + ".validators", "must be an array");
    } else {
      for (std::size_t k = 0; k < validators->size(); ++k) {
        const json& v = (*validators)[k];
        const std::string vpath = path + ".validators[" + std::to_string(k) + "]";
        if (!v.is_object()) {
          p.add(vpath, "must be an object");
          continue;
        }
        p.unknown_fields(v, vpath, {"address", "operator"});
        Validator member;
        if (auto a = get_string(v, "address", vpath, p)) {
          auto parsed = codec::parse_address(*a);
          if (!parsed) p.add(vpath + ".address", parsed.error().message());
          else member.address = *parsed;
        }
        member.operator_name = get_string(v, "operator", vpath, p, false).value_or(codec::to_checksum(member.address));
        if (member.operator_name.empty()) p.add(vpath + ".operator", "cannot be empty");
        set.validators.push_back(std::move(member));
      }
    }
    check_members(set, path, p);
    if (i == 0) {
      if (s.contains("upgrade")) p.add(path + ".upgrade", "the first (genesis) set has no upgrade VAA");
    } else if (auto hex = get_string(s, "upgrade", path, p)) {
      auto bytes = codec::from_hex(*hex);
      auto vaa = bytes ? codec::decode_vaa(*bytes) : std::unexpected(bytes.error());
      if (!vaa) {
        p.add(path + ".upgrade", vaa.error().message());
      } else if (p.lines.size() == before && !h.sets.empty()) {
        // Re-verify the rotation exactly as apply_upgrade would have made it, at this set's valid_from.
        ValidatorSetHistory so_far = h;
        so_far.sets.back().expires_at_ms.reset();
        auto next = check_upgrade(so_far, *vaa, set.valid_from_ms);
        if (!next) {
          p.add(path + ".upgrade", next.error().reason + ": " + next.error().detail);
        } else {
          if (next->index != set.index) p.add(path + ".index", "the upgrade installs set " + std::to_string(next->index));
          std::vector<Address> want, have;
          for (const auto& m : next->validators) want.push_back(m.address);
          for (const auto& m : set.validators) have.push_back(m.address);
          if (want != have) p.add(path + ".validators", "differ from the keys the upgrade installs (same keys, same order)");
          if (h.sets.back().expires_at_ms && *h.sets.back().expires_at_ms != set.valid_from_ms + h.overlap_ms) {
            p.add("$.sets[" + std::to_string(i - 1) + "].expires_at",
                  "must be " + format_time(set.valid_from_ms + h.overlap_ms) + " (this set's valid_from + overlap)");
          }
        }
        set.upgrade = std::move(*bytes);
      }
    }
    h.sets.push_back(std::move(set));
  }
  if (!p.lines.empty()) return std::unexpected(std::move(p.lines));
  return h;
}

std::string to_json_text(const ValidatorSetHistory& h) {
  nlohmann::ordered_json doc;
  doc["txguard_validator_sets"] = 1;
  doc["name"] = h.name;
  doc["times"] = h.times_note;
  doc["overlap"] = format_duration(h.overlap_ms);
  doc["governance"] = {{"chain", h.governance_chain}, {"emitter", codec::to_hex(h.governance_emitter)}};
  auto sets = nlohmann::ordered_json::array();
  for (const auto& set : h.sets) {
    nlohmann::ordered_json s;
    s["index"] = set.index;
    s["valid_from"] = format_time(set.valid_from_ms);
    if (set.expires_at_ms) s["expires_at"] = format_time(*set.expires_at_ms);
    auto members = nlohmann::ordered_json::array();
    for (const auto& v : set.validators) {
      nlohmann::ordered_json m;
      m["address"] = codec::to_checksum(v.address);
      if (v.operator_name != codec::to_checksum(v.address)) m["operator"] = v.operator_name;
      members.push_back(std::move(m));
    }
    s["validators"] = std::move(members);
    if (set.upgrade) s["upgrade"] = codec::to_hex(*set.upgrade);
    sets.push_back(std::move(s));
  }
  doc["sets"] = std::move(sets);
  return doc.dump(2) + "\n";
}

}  // namespace txguard::policy
