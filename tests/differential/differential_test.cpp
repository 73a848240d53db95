// Differential test: txguard's codec against viem.
//
// tests/js/gen_differential.mjs writes (ctest fixture differential/generate_cases_with_viem) 10,000
// deterministic cases computed by viem, one JSON object per line; tests/js/README.md documents the
// format. For every case each test below recomputes with txguard, in viem's JSON form, everything the
// line holds, and compares it key by key: a key the line has and txguard cannot produce is a mismatch
// too, so nothing in a line goes unchecked. A mismatch is reported with the case id and the field
// path, and the test carries on, so that one bug cannot hide another.
//
// The test fails, rather than skips, when TXGUARD_VIEM_CASES is unset, the file is missing, it has
// fewer than 10,000 lines, or a kind has fewer than 1,000 cases: it can never pass vacuously.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/abi.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/eip712.hpp"
#include "policy/codec/error.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/codec/transaction.hpp"
#include "policy/codec/u256.hpp"

using namespace txguard::codec;
using nlohmann::json;

namespace {

constexpr std::size_t kMinLines = 10000;
constexpr std::size_t kMinCasesPerKind = 1000;
// Beyond this many mismatches per test only the per-field tally is printed, so that a systematic bug
// does not drown the log; every mismatch still counts.
constexpr std::size_t kMaxPrintedMismatches = 100;
constexpr std::size_t kMaxPrintedValueChars = 240;

const std::vector<std::string_view> kKinds = {"transaction", "abi", "typed_data", "safe_tx", "multisend"};

std::string shorten(std::string text) {
  if (text.size() > kMaxPrintedValueChars) {
    text = text.substr(0, kMaxPrintedValueChars) + "... (" + std::to_string(text.size()) + " chars)";
  }
  return text;
}

/// Two long values cut to a window around their first difference, so that the difference shows.
std::pair<std::string, std::string> around_first_difference(const std::string& a, const std::string& b) {
  if (a.size() <= kMaxPrintedValueChars && b.size() <= kMaxPrintedValueChars) return {a, b};
  std::size_t first = 0;
  while (first < a.size() && first < b.size() && a[first] == b[first]) ++first;
  const std::size_t start = first > 40 ? first - 40 : 0;
  const auto cut = [&](const std::string& text) {
    return "(" + std::to_string(text.size()) + " chars, from char " + std::to_string(start) + ") " +
           shorten(text.substr(std::min(start, text.size())));
  };
  return {cut(a), cut(b)};
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string show(const json& value) { return shorten(dump(value)); }

/// "items[3].value" -> "items[*].value", to tally mismatches per field across elements.
std::string without_indices(const std::string& field) {
  std::string out;
  bool in_index = false;
  for (const char ch : field) {
    if (in_index && ch >= '0' && ch <= '9') continue;
    in_index = ch == '[';
    out.push_back(ch);
    if (in_index) out.push_back('*');
  }
  return out;
}

/// Collects the mismatches of one test: prints each (up to kMaxPrintedMismatches) as a failed check
/// naming the case and the field, and at the end a tally per field.
class Mismatches {
 public:
  void report(const std::string& id, const std::string& field, const std::string& txguard,
              const std::string& viem) {
    ++total_;
    ++per_field_[without_indices(field)];
    if (total_ <= kMaxPrintedMismatches) {
      const auto [ours, theirs] = around_first_difference(txguard, viem);
      FAIL_CHECK("case " << id << ", field " << field << ": txguard " << ours << ", viem " << theirs);
    }
  }
  void report_json(const std::string& id, const std::string& field, const json& txguard, const json& viem) {
    report(id, field, dump(txguard), dump(viem));
  }
  /// txguard could not compute the field at all (a decoder error, an exception).
  void error(const std::string& id, const std::string& field, const std::string& what) {
    report(id, field, "failed: " + what, std::string("a value"));
  }

  void finish(std::string_view kind, std::size_t cases) const {
    MESSAGE(kind << ": " << cases << " cases compared with viem, " << total_ << " mismatches");
    if (total_ == 0) return;
    std::ostringstream tally;
    for (const auto& [field, count] : per_field_) tally << "\n  " << field << ": " << count;
    FAIL_CHECK(kind << ": " << total_ << " mismatches in all, per field:" << tally.str());
  }

 private:
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_field_;
};

/// Compares txguard's value with viem's recursively. Objects must have the same keys, arrays the same
/// length; a leaf differs when the JSON values differ. Array indices go into the field path.
void compare_json(Mismatches& m, const std::string& id, const std::string& path, const json& ours,
                  const json& viem) {
  if (ours.is_object() && viem.is_object()) {
    for (const auto& [key, value] : viem.items()) {
      const std::string sub = path.empty() ? key : path + "." + key;
      if (!ours.contains(key)) {
        m.report(id, sub, std::string("<absent>"), show(value));
      } else {
        compare_json(m, id, sub, ours.at(key), value);
      }
    }
    for (const auto& [key, value] : ours.items()) {
      if (!viem.contains(key)) m.report(id, path.empty() ? key : path + "." + key, show(value), "<absent>");
    }
    return;
  }
  if (ours.is_array() && viem.is_array()) {
    if (ours.size() != viem.size()) {
      m.report(id, path + ".length", std::to_string(ours.size()), std::to_string(viem.size()));
      return;
    }
    for (std::size_t i = 0; i < ours.size(); ++i) {
      compare_json(m, id, path + "[" + std::to_string(i) + "]", ours[i], viem[i]);
    }
    return;
  }
  if (ours != viem) m.report_json(id, path, ours, viem);
}

void compare(Mismatches& m, const std::string& id, const std::string& field, const std::string& ours,
             const std::string& viem) {
  if (ours != viem) m.report(id, field, ours, viem);
}

// ---- Reading the file ---------------------------------------------------------------------------

bool is_known_kind(std::string_view kind) {
  for (const auto k : kKinds) {
    if (kind == k) return true;
  }
  return false;
}

/// The kind a line announces in its first key, if it starts with one.
std::optional<std::string_view> kind_prefix(std::string_view line) {
  constexpr std::string_view kPrefix = R"({"kind":")";
  if (!line.starts_with(kPrefix)) return std::nullopt;
  const auto end = line.find('"', kPrefix.size());
  if (end == std::string_view::npos) return std::nullopt;
  return line.substr(kPrefix.size(), end - kPrefix.size());
}

/// The cases of one kind. Fails the test (REQUIRE) when the file cannot be read or is too short, and
/// records a failed check for every line that is not a well-formed case of a known kind.
std::vector<json> load_cases(std::string_view kind) {
  const char* env = std::getenv("TXGUARD_VIEM_CASES");
  REQUIRE_MESSAGE(env != nullptr,
                  "TXGUARD_VIEM_CASES is not set: run through ctest (the differential/generate_cases_with_viem "
                  "fixture writes the file), or point it at the output of tests/js/gen_differential.mjs");
  const std::string path(env);
  REQUIRE_MESSAGE(!path.empty(), "TXGUARD_VIEM_CASES is empty");
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.is_open(), "cannot open TXGUARD_VIEM_CASES=" << path
                                    << " (did differential/generate_cases_with_viem fail? tests/js needs npm ci)");
  std::vector<json> cases;
  std::size_t lines = 0;
  std::size_t bad_lines = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++lines;
    // The generator writes "kind" first; a line that says it is of another known kind is left to that
    // kind's test, which parses and checks it in full. Anything else is parsed here.
    const auto prefix = kind_prefix(line);
    if (prefix && *prefix != kind && is_known_kind(*prefix)) continue;
    json c = json::parse(line, nullptr, false);
    const bool well_formed = !c.is_discarded() && c.is_object() && c.contains("kind") && c["kind"].is_string() &&
                             c.contains("id") && c["id"].is_string();
    if (!well_formed || !is_known_kind(c["kind"].get<std::string>())) {
      if (++bad_lines <= kMaxPrintedMismatches) {
        FAIL_CHECK("line " << lines << " of " << path << " is not a case of a known kind: " << show(line));
      }
      continue;
    }
    if (c["kind"].get<std::string>() == kind) cases.push_back(std::move(c));
  }
  CHECK_MESSAGE(bad_lines == 0, bad_lines << " malformed lines in " << path);
  REQUIRE_MESSAGE(lines >= kMinLines, path << " has " << lines << " lines, expected at least " << kMinLines
                                           << " (a truncated file must not pass)");
  REQUIRE_MESSAGE(cases.size() >= kMinCasesPerKind, path << " has " << cases.size() << " cases of kind " << kind
                                                         << ", expected at least " << kMinCasesPerKind);
  return cases;
}

/// The keys a line of this kind has (tests/js/README.md). A key outside the list is reported: it
/// would be a field nobody compares.
void check_keys(Mismatches& m, const std::string& id, const std::string& path, const json& object,
                std::initializer_list<std::string_view> keys) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (const auto k : keys) known = known || key == k;
    if (!known) m.report(id, (path.empty() ? key : path + "." + key) + " [unknown key]", "<not compared>", show(value));
  }
}

/// The value of a parse of viem's input, or an exception naming the input and the error, which the
/// per-case handler reports as a mismatch of that case.
template <class T>
T must(Decoded<T> decoded, const json& input) {
  if (!decoded) throw std::invalid_argument("cannot read " + show(input) + ": " + decoded.error().message());
  return std::move(*decoded);
}

// viem's canonical forms (tests/js/README.md).
Bytes hex_of(const json& j) { return must(from_hex(j.get<std::string>()), j); }
U256 u256_of(const json& j) { return must(parse_u256(j.get<std::string>()), j); }
Address address_of_json(const json& j) { return must(parse_address(j.get<std::string>()), j); }
Hash32 hash_of(const json& j) { return must(from_hex_fixed<32>(j.get<std::string>()), j); }

std::string dec(const U256& v) { return to_decimal(v); }
std::string hex(ByteView b) { return to_hex(b); }
std::string hex(const Hash32& h) { return to_hex(ByteView(h.data(), h.size())); }
std::string hex(const Bytes& b) { return to_hex(ByteView(b.data(), b.size())); }

/// Runs `check` on every case, turning an exception (a malformed line, an input that does not parse, a
/// throwing encoder) into a mismatch of that case.
template <class Check>
std::size_t for_each_case(Mismatches& m, const std::vector<json>& cases, Check check) {
  std::size_t done = 0;
  for (const json& c : cases) {
    const std::string id = c.at("id").get<std::string>();
    try {
      check(id, c);
    } catch (const std::exception& e) {
      m.error(id, "(exception)", e.what());
    }
    ++done;
  }
  return done;
}

// ---- Transactions -------------------------------------------------------------------------------

json authorization_json(const Authorization& a) {
  return json{{"chain_id", dec(a.chain_id)},
              {"address", to_checksum(a.address)},
              {"nonce", std::to_string(a.nonce)},
              {"y_parity", a.y_parity},
              {"r", hex(a.r)},
              {"s", hex(a.s)},
              {"signing_hash", hex(authorization_signing_hash(a))},
              {"authority", a.authority ? json(to_checksum(*a.authority))
                            : a.authority_error ? json("<" + std::string(to_string(*a.authority_error)) + ">")
                                                : json(nullptr)}};
}

/// The `fields` object viem writes for a transaction of this type, from txguard's struct. Fields the
/// type does not have must hold their zero value; a non-zero one is reported under its name.
json transaction_fields_json(Mismatches& m, const std::string& id, const std::string& prefix, const Transaction& t) {
  const auto type = static_cast<int>(t.type);
  json f = json::object();
  f["chain_id"] = t.chain_id ? json(std::to_string(*t.chain_id)) : json(nullptr);
  f["nonce"] = std::to_string(t.nonce);
  if (type <= 1) {
    f["gas_price"] = dec(t.gas_price);
    if (t.max_priority_fee_per_gas != 0 || t.max_fee_per_gas != 0) {
      m.report(id, prefix + "fields.max_fee_per_gas (not in this type)", dec(t.max_fee_per_gas), "0");
    }
  } else {
    f["max_priority_fee_per_gas"] = dec(t.max_priority_fee_per_gas);
    f["max_fee_per_gas"] = dec(t.max_fee_per_gas);
    if (t.gas_price != 0) m.report(id, prefix + "fields.gas_price (not in this type)", dec(t.gas_price), "0");
  }
  f["gas"] = std::to_string(t.gas_limit);
  f["to"] = t.to ? json(to_checksum(*t.to)) : json(nullptr);
  f["value"] = dec(t.value);
  f["data"] = hex(t.data);
  if (type >= 1) {
    json list = json::array();
    for (const auto& entry : t.access_list) {
      json keys = json::array();
      for (const auto& k : entry.storage_keys) keys.push_back(hex(k));
      list.push_back(json{{"address", to_checksum(entry.address)}, {"storage_keys", keys}});
    }
    f["access_list"] = list;
  } else if (!t.access_list.empty()) {
    m.report(id, prefix + "fields.access_list (not in this type)", std::to_string(t.access_list.size()), "0");
  }
  if (type == 3) {
    f["max_fee_per_blob_gas"] = dec(t.max_fee_per_blob_gas);
    json hashes = json::array();
    for (const auto& h : t.blob_versioned_hashes) hashes.push_back(hex(h));
    f["blob_versioned_hashes"] = hashes;
  } else if (t.max_fee_per_blob_gas != 0 || !t.blob_versioned_hashes.empty()) {
    m.report(id, prefix + "fields.blob fields (not in this type)", "set", "empty");
  }
  if (type == 4) {
    json auths = json::array();
    for (const auto& a : t.authorization_list) auths.push_back(authorization_json(a));
    f["authorization_list"] = auths;
  } else if (!t.authorization_list.empty()) {
    m.report(id, prefix + "fields.authorization_list (not in this type)", "non-empty", "empty");
  }
  return f;
}

std::uint64_t u64_of(const json& j) {
  const auto v = to_u64(u256_of(j));
  if (!v) throw std::invalid_argument("not a 64-bit integer: " + show(j));
  return *v;
}

/// viem's `fields` and `signature` as a Transaction, built independently of txguard's decoder.
Transaction transaction_from_viem(const json& c) {
  const json& f = c.at("fields");
  Transaction t;
  const int type = c.at("tx_type").get<int>();
  if (type < 0 || type > 4) throw std::invalid_argument("tx_type " + std::to_string(type));
  t.type = static_cast<TxnType>(type);
  if (!f.at("chain_id").is_null()) t.chain_id = u64_of(f.at("chain_id"));
  t.nonce = u64_of(f.at("nonce"));
  if (f.contains("gas_price")) t.gas_price = u256_of(f.at("gas_price"));
  if (f.contains("max_priority_fee_per_gas")) t.max_priority_fee_per_gas = u256_of(f.at("max_priority_fee_per_gas"));
  if (f.contains("max_fee_per_gas")) t.max_fee_per_gas = u256_of(f.at("max_fee_per_gas"));
  t.gas_limit = u64_of(f.at("gas"));
  if (!f.at("to").is_null()) t.to = address_of_json(f.at("to"));
  t.value = u256_of(f.at("value"));
  t.data = hex_of(f.at("data"));
  if (f.contains("access_list")) {
    for (const auto& e : f.at("access_list")) {
      AccessListEntry entry;
      entry.address = address_of_json(e.at("address"));
      for (const auto& k : e.at("storage_keys")) entry.storage_keys.push_back(hash_of(k));
      t.access_list.push_back(std::move(entry));
    }
  }
  if (f.contains("max_fee_per_blob_gas")) t.max_fee_per_blob_gas = u256_of(f.at("max_fee_per_blob_gas"));
  if (f.contains("blob_versioned_hashes")) {
    for (const auto& h : f.at("blob_versioned_hashes")) t.blob_versioned_hashes.push_back(hash_of(h));
  }
  if (f.contains("authorization_list")) {
    for (const auto& a : f.at("authorization_list")) {
      Authorization auth;
      auth.chain_id = u256_of(a.at("chain_id"));
      auth.address = address_of_json(a.at("address"));
      auth.nonce = u64_of(a.at("nonce"));
      auth.y_parity = a.at("y_parity").get<std::uint8_t>();
      auth.r = hash_of(a.at("r"));
      auth.s = hash_of(a.at("s"));
      t.authorization_list.push_back(auth);
    }
  }
  const json& sig = c.at("signature");
  t.signature = TxnSignature{u256_of(sig.at("v")), sig.at("y_parity").get<std::uint8_t>(), hash_of(sig.at("r")),
                             hash_of(sig.at("s"))};
  return t;
}

void check_transaction(Mismatches& m, const std::string& id, const json& c) {
  // viem's fields encoded by txguard give viem's bytes and hashes.
  const Transaction from_viem = transaction_from_viem(c);
  const std::string e = "[encode viem's fields] ";
  compare(m, id, e + "unsigned", hex(encode_unsigned_transaction(from_viem)), c.at("unsigned").get<std::string>());
  compare(m, id, e + "signing_hash", hex(signing_hash(from_viem)), c.at("signing_hash").get<std::string>());
  compare(m, id, e + "signed", hex(encode_transaction(from_viem)), c.at("signed").get<std::string>());
  for (std::size_t i = 0; i < from_viem.authorization_list.size(); ++i) {
    const json& a = c.at("fields").at("authorization_list").at(i);
    compare(m, id, e + "fields.authorization_list[" + std::to_string(i) + "].signing_hash",
            hex(authorization_signing_hash(from_viem.authorization_list[i])), a.at("signing_hash").get<std::string>());
  }

  const Bytes unsigned_raw = hex_of(c.at("unsigned"));
  const Bytes signed_raw = hex_of(c.at("signed"));

  // The unsigned form: what a client hands txguard to co-sign.
  TxnDecodeOptions unsigned_options;
  unsigned_options.form = TxnForm::kUnsigned;
  const auto u = decode_transaction(unsigned_raw, unsigned_options);
  if (!u) {
    m.error(id, "[decode unsigned]", u.error().message());
  } else {
    const std::string p = "[decode unsigned] ";
    json ours{{"tx_type", static_cast<int>(u->type)},
              {"eip155", u->type == TxnType::kLegacy && u->chain_id.has_value()},
              {"fields", transaction_fields_json(m, id, p, *u)},
              {"unsigned", hex(encode_transaction(*u))},
              {"signing_hash", hex(u->signing_hash)}};
    json viem{{"tx_type", c.at("tx_type")}, {"eip155", c.at("eip155")}, {"fields", c.at("fields")},
              {"unsigned", c.at("unsigned")}, {"signing_hash", c.at("signing_hash")}};
    compare_json(m, id, p.substr(0, p.size() - 1), ours, viem);
    compare(m, id, p + "signing_hash()", hex(signing_hash(*u)), c.at("signing_hash").get<std::string>());
    if (u->signature || u->hash || u->from) m.report(id, p + "signature/hash/from", "present", "absent");
  }

  // The signed form: what eth_sendRawTransaction carries.
  TxnDecodeOptions signed_options;
  signed_options.form = TxnForm::kSigned;
  const auto s = decode_transaction(signed_raw, signed_options);
  if (!s) {
    m.error(id, "[decode signed]", s.error().message());
  } else {
    const std::string p = "[decode signed] ";
    json ours{{"tx_type", static_cast<int>(s->type)},
              {"eip155", s->type == TxnType::kLegacy && s->chain_id.has_value()},
              {"fields", transaction_fields_json(m, id, p, *s)},
              {"unsigned", hex(encode_unsigned_transaction(*s))},
              {"signing_hash", hex(s->signing_hash)},
              {"signed", hex(encode_transaction(*s))},
              {"hash", s->hash ? json(hex(*s->hash)) : json(nullptr)},
              {"from", s->from ? json(to_checksum(*s->from)) : json(nullptr)}};
    if (s->signature) {
      ours["signature"] = json{{"y_parity", s->signature->y_parity},
                               {"r", hex(s->signature->r)},
                               {"s", hex(s->signature->s)},
                               {"v", dec(s->signature->v)}};
    }
    json viem = c;
    viem.erase("kind");
    viem.erase("id");
    viem.erase("private_key");
    compare_json(m, id, p.substr(0, p.size() - 1), ours, viem);
    compare(m, id, p + "signing_hash()", hex(signing_hash(*s)), c.at("signing_hash").get<std::string>());
    if (s->signature) {
      // Legacy v is derived from chain_id and y_parity by the encoder; the decoder's v must agree.
      Transaction rebuilt = *s;
      rebuilt.signature->v = 0;
      compare(m, id, p + "signed (v derived by the encoder)", hex(encode_transaction(rebuilt)),
              c.at("signed").get<std::string>());
    }
  }

  // The same key signs the same digest to the same signature (RFC 6979, low s).
  const SecretKey key(hash_of(c.at("private_key")));
  const auto from = address_of(key);
  compare(m, id, "[private_key] from", from ? to_checksum(*from) : "<invalid key>", c.at("from").get<std::string>());
  const auto sig = sign_digest(hash_of(c.at("signing_hash")), key);
  if (!sig) {
    m.error(id, "[sign] signature", "sign_digest refused the key");
  } else {
    compare_json(m, id, "[sign] signature",
                 json{{"y_parity", sig->recovery_id}, {"r", hex(sig->r)}, {"s", hex(sig->s)}},
                 json{{"y_parity", c.at("signature").at("y_parity")},
                      {"r", c.at("signature").at("r")},
                      {"s", c.at("signature").at("s")}});
  }
}

// ---- ABI ----------------------------------------------------------------------------------------

/// viem's JSON value as an AbiValue, built independently of txguard's decoder.
AbiValue abi_value_from_viem(const AbiType& type, const json& j) {
  switch (type.kind()) {
    case AbiType::Kind::kUint:
      return AbiValue::uint(u256_of(j));
    case AbiType::Kind::kInt: {
      const auto text = j.get<std::string>();
      const bool negative = !text.empty() && text.front() == '-';
      return AbiValue::sint(AbiSigned::from_magnitude(must(parse_u256(negative ? text.substr(1) : text), j), negative));
    }
    case AbiType::Kind::kAddress:
      return AbiValue::address(address_of_json(j));
    case AbiType::Kind::kBool:
      return AbiValue::boolean(j.get<bool>());
    case AbiType::Kind::kFixedBytes:
    case AbiType::Kind::kBytes:
      return AbiValue::bytes(hex_of(j));
    case AbiType::Kind::kString:
      return AbiValue::string(j.get<std::string>());
    case AbiType::Kind::kArray:
    case AbiType::Kind::kFixedArray: {
      AbiValue::List list;
      for (const auto& e : j) list.push_back(abi_value_from_viem(type.element(), e));
      return AbiValue::list(std::move(list));
    }
    case AbiType::Kind::kTuple: {
      AbiValue::List list;
      const auto components = type.components();
      if (!j.is_array() || j.size() != components.size()) throw std::invalid_argument("tuple of the wrong size");
      for (std::size_t i = 0; i < components.size(); ++i) list.push_back(abi_value_from_viem(components[i], j[i]));
      return AbiValue::list(std::move(list));
    }
  }
  throw std::invalid_argument("unknown ABI kind");
}

void check_abi(Mismatches& m, const std::string& id, const json& c) {
  check_keys(m, id, "", c, {"kind", "id", "types", "values", "encoded"});
  const json& type_texts = c.at("types");
  const json& viem_values = c.at("values");
  const Bytes encoded = hex_of(c.at("encoded"));
  std::vector<AbiType> types;
  for (std::size_t i = 0; i < type_texts.size(); ++i) {
    const auto text = type_texts[i].get<std::string>();
    auto t = parse_abi_type(text);
    if (!t) {
      m.error(id, "types[" + std::to_string(i) + "]", t.error().message() + " for " + text);
      return;
    }
    compare(m, id, "types[" + std::to_string(i) + "] canonical", canonical(*t), text);
    types.push_back(std::move(*t));
  }

  // Decoding viem's bytes gives viem's values, and re-encodes to the same bytes.
  const auto decoded = abi_decode(types, encoded);
  if (!decoded) {
    m.error(id, "encoded [abi_decode]", decoded.error().message());
  } else {
    compare(m, id, "encoded [consumed]", std::to_string(decoded->consumed), std::to_string(encoded.size()));
    compare(m, id, "encoded [trailing]", hex(decoded->trailing), "0x");
    json ours = json::array();
    for (std::size_t i = 0; i < types.size() && i < decoded->values.size(); ++i) {
      ours.push_back(to_json(types[i], decoded->values[i]));
    }
    compare_json(m, id, "values", ours, viem_values);
    compare(m, id, "encoded [abi_encode(abi_decode)]", hex(abi_encode(types, decoded->values)), hex(encoded));
  }

  // Encoding viem's values gives viem's bytes.
  if (viem_values.size() != types.size()) {
    m.report(id, "values.length", std::to_string(types.size()), std::to_string(viem_values.size()));
    return;
  }
  std::vector<AbiValue> values;
  for (std::size_t i = 0; i < types.size(); ++i) {
    values.push_back(abi_value_from_viem(types[i], viem_values[i]));
    if (!abi_value_matches(types[i], values.back())) {
      m.report(id, "values[" + std::to_string(i) + "] [abi_value_matches]", "false", "true");
      return;
    }
  }
  compare(m, id, "encoded [abi_encode(viem's values)]", hex(abi_encode(types, values)), hex(encoded));
  if (decoded && decoded->values != values) {
    m.report(id, "values [decoded AbiValue == viem's as AbiValue]", "different", "equal");
  }
}

// ---- EIP-712 ------------------------------------------------------------------------------------

void check_typed_data(Mismatches& m, const std::string& id, const json& c) {
  check_keys(m, id, "", c, {"kind", "id", "typed_data", "domain_separator", "struct_hash", "digest"});
  const json& request = c.at("typed_data");
  const auto td = parse_typed_data(request);
  if (!td) {
    m.error(id, "typed_data [parse_typed_data]", td.error().message());
    return;
  }
  json ours{{"domain_separator", hex(td->domain_separator)},
            {"struct_hash", td->message_hash ? json(hex(*td->message_hash)) : json(nullptr)},
            {"digest", hex(td->digest)}};
  json viem{{"domain_separator", c.at("domain_separator")},
            {"struct_hash", c.at("struct_hash")},
            {"digest", c.at("digest")}};
  compare_json(m, id, "", ours, viem);

  // The pieces, through the lower-level API.
  const auto domain = hash_struct(td->types, "EIP712Domain", request.at("domain"), "$.domain");
  compare(m, id, "domain_separator [hash_struct]", domain ? hex(*domain) : "failed: " + domain.error().message(),
          c.at("domain_separator").get<std::string>());
  const auto primary = request.at("primaryType").get<std::string>();
  const auto message = hash_struct(td->types, primary, request.at("message"), "$.message");
  compare(m, id, "struct_hash [hash_struct]", message ? hex(*message) : "failed: " + message.error().message(),
          c.at("struct_hash").get<std::string>());
  compare(m, id, "digest [eip712_digest]",
          hex(eip712_digest(hash_of(c.at("domain_separator")), hash_of(c.at("struct_hash")))),
          c.at("digest").get<std::string>());

  // The text front end (duplicate-key and depth checks before building JSON) agrees.
  const auto from_text = parse_typed_data(std::string_view(request.dump()));
  compare(m, id, "digest [parse_typed_data(text)]",
          from_text ? hex(from_text->digest) : "failed: " + from_text.error().message(),
          c.at("digest").get<std::string>());
}

// ---- Safe ---------------------------------------------------------------------------------------

const std::vector<std::string_view> kSafeVersions = {"1.1.1", "1.2.0", "1.3.0", "1.4.1", "1.5.0"};

void check_safe_tx(Mismatches& m, const std::string& id, const json& c, std::map<std::string, std::size_t>& versions) {
  check_keys(m, id, "", c,
             {"kind", "id", "version", "chain_id", "safe_address", "tx", "domain_separator", "safe_tx_hash"});
  const auto version_text = c.at("version").get<std::string>();
  const auto version = parse_safe_version(version_text);
  if (!version) {
    m.error(id, "version", version.error().message());
    return;
  }
  ++versions[version_text];
  compare(m, id, "version [to_string]", std::string(to_string(*version)), version_text);
  const json& t = c.at("tx");
  check_keys(m, id, "tx", t,
             {"to", "value", "data", "operation", "safe_tx_gas", "base_gas", "gas_price", "gas_token",
              "refund_receiver", "nonce"});
  SafeTx tx;
  tx.to = address_of_json(t.at("to"));
  tx.value = u256_of(t.at("value"));
  tx.data = hex_of(t.at("data"));
  const int operation = t.at("operation").get<int>();
  if (operation != 0 && operation != 1) throw std::invalid_argument("operation " + std::to_string(operation));
  tx.operation = operation == 0 ? Operation::kCall : Operation::kDelegateCall;
  tx.safe_tx_gas = u256_of(t.at("safe_tx_gas"));
  tx.base_gas = u256_of(t.at("base_gas"));
  tx.gas_price = u256_of(t.at("gas_price"));
  tx.gas_token = address_of_json(t.at("gas_token"));
  tx.refund_receiver = address_of_json(t.at("refund_receiver"));
  tx.nonce = u256_of(t.at("nonce"));
  const SafeDomain domain{*version, u256_of(c.at("chain_id")), address_of_json(c.at("safe_address"))};
  const std::string viem_domain = c.at("domain_separator").get<std::string>();
  const std::string viem_hash = c.at("safe_tx_hash").get<std::string>();

  compare(m, id, "domain_separator", hex(safe_domain_separator(domain)), viem_domain);
  compare(m, id, "safe_tx_hash", hex(safe_tx_hash(tx, domain)), viem_hash);
  compare(m, id, "safe_tx_hash [eip712_digest(domain, safe_tx_struct_hash)]",
          hex(eip712_digest(hash_of(c.at("domain_separator")), safe_tx_struct_hash(tx))), viem_hash);

  // Only the versions with chainId in their domain bind the hash to the chain.
  SafeDomain other_chain = domain;
  other_chain.chain_id = domain.chain_id == 0 ? U256(1) : U256(domain.chain_id - 1);
  const bool same = safe_domain_separator(other_chain) == safe_domain_separator(domain);
  if (same == domain_has_chain_id(*version)) {
    m.report(id, "domain_separator [another chain id]", same ? "unchanged" : "changed",
             domain_has_chain_id(*version) ? "changed" : "unchanged");
  }

  // The same SafeTx as a client submits it (Safe Transaction Service names), with viem's hash claimed.
  const json request{{"to", t.at("to")},
                     {"value", t.at("value")},
                     {"data", t.at("data")},
                     {"operation", operation},
                     {"safeTxGas", t.at("safe_tx_gas")},
                     {"baseGas", t.at("base_gas")},
                     {"gasPrice", t.at("gas_price")},
                     {"gasToken", t.at("gas_token")},
                     {"refundReceiver", t.at("refund_receiver")},
                     {"nonce", t.at("nonce")},
                     {"chainId", c.at("chain_id")},
                     {"safe", c.at("safe_address")},
                     {"safeVersion", version_text},
                     {"safeTxHash", viem_hash}};
  const auto parsed = parse_safe_tx_request(request);
  if (!parsed) {
    m.error(id, "[parse_safe_tx_request]", parsed.error().message());
  } else {
    compare(m, id, "safe_tx_hash [parse_safe_tx_request]", hex(safe_tx_hash(parsed->tx, parsed->domain)), viem_hash);
    compare(m, id, "safe_tx_hash [claimed]", parsed->claimed_hash ? hex(*parsed->claimed_hash) : "<absent>",
            viem_hash);
  }

  // The same SafeTx as eth_signTypedData_v4, through the generic EIP-712 encoder.
  json domain_types = json::array();
  json domain_value = json::object();
  if (domain_has_chain_id(*version)) {
    domain_types.push_back(json{{"name", "chainId"}, {"type", "uint256"}});
    domain_value["chainId"] = c.at("chain_id");
  }
  domain_types.push_back(json{{"name", "verifyingContract"}, {"type", "address"}});
  domain_value["verifyingContract"] = c.at("safe_address");
  const json safe_tx_type = json::array({json{{"name", "to"}, {"type", "address"}},
                                         json{{"name", "value"}, {"type", "uint256"}},
                                         json{{"name", "data"}, {"type", "bytes"}},
                                         json{{"name", "operation"}, {"type", "uint8"}},
                                         json{{"name", "safeTxGas"}, {"type", "uint256"}},
                                         json{{"name", "baseGas"}, {"type", "uint256"}},
                                         json{{"name", "gasPrice"}, {"type", "uint256"}},
                                         json{{"name", "gasToken"}, {"type", "address"}},
                                         json{{"name", "refundReceiver"}, {"type", "address"}},
                                         json{{"name", "nonce"}, {"type", "uint256"}}});
  json message = request;
  for (const char* key : {"chainId", "safe", "safeVersion", "safeTxHash"}) message.erase(key);
  const json typed{{"types", {{"EIP712Domain", domain_types}, {"SafeTx", safe_tx_type}}},
                   {"primaryType", "SafeTx"},
                   {"domain", domain_value},
                   {"message", message}};
  const auto td = parse_typed_data(typed);
  compare(m, id, "safe_tx_hash [parse_typed_data]", td ? hex(td->digest) : "failed: " + td.error().message(),
          viem_hash);
  compare(m, id, "domain_separator [parse_typed_data]",
          td ? hex(td->domain_separator) : "failed: " + td.error().message(), viem_domain);
}

// ---- MultiSend ----------------------------------------------------------------------------------

constexpr std::size_t kMultiSendItemHeader = 1 + 20 + 32 + 32;

json multisend_items_json(const std::vector<MultiSendItem>& items) {
  json out = json::array();
  for (const auto& item : items) {
    out.push_back(json{{"operation", static_cast<int>(item.operation)},
                       {"to", to_checksum(item.to)},
                       {"value", dec(item.value)},
                       {"data", hex(item.data)}});
  }
  return out;
}

void check_item_offsets(Mismatches& m, const std::string& id, const std::string& field,
                        const std::vector<MultiSendItem>& items, std::size_t base) {
  std::size_t expected = base;
  for (std::size_t i = 0; i < items.size(); ++i) {
    compare(m, id, field + "[" + std::to_string(i) + "].offset", std::to_string(items[i].offset),
            std::to_string(expected));
    expected += kMultiSendItemHeader + items[i].data.size();
  }
}

void check_multisend(Mismatches& m, const std::string& id, const json& c) {
  check_keys(m, id, "", c, {"kind", "id", "items", "transactions", "calldata"});
  const Bytes packed = hex_of(c.at("transactions"));
  const Bytes calldata = hex_of(c.at("calldata"));
  const json& viem_items = c.at("items");

  const auto items = parse_multisend(packed);
  if (!items) {
    m.error(id, "transactions [parse_multisend]", items.error().message());
  } else {
    compare_json(m, id, "items", multisend_items_json(*items), viem_items);
    check_item_offsets(m, id, "items", *items, 0);
    compare(m, id, "transactions [encode_multisend(parse_multisend)]", hex(encode_multisend(*items)), hex(packed));
  }

  // viem's items packed by txguard give viem's packed bytes.
  std::vector<Bytes> datas;
  datas.reserve(viem_items.size());
  std::vector<MultiSendItem> from_viem;
  for (const auto& item : viem_items) {
    datas.push_back(hex_of(item.at("data")));
    MultiSendItem x;
    const int operation = item.at("operation").get<int>();
    if (operation != 0 && operation != 1) throw std::invalid_argument("operation " + std::to_string(operation));
    x.operation = operation == 0 ? Operation::kCall : Operation::kDelegateCall;
    x.to = address_of_json(item.at("to"));
    x.value = u256_of(item.at("value"));
    x.data = ByteView(datas.back().data(), datas.back().size());
    from_viem.push_back(x);
  }
  compare(m, id, "transactions [encode_multisend(viem's items)]", hex(encode_multisend(from_viem)), hex(packed));

  // The calldata: multiSend(bytes transactions).
  if (calldata.size() < 4) {
    m.report(id, "calldata.length", std::to_string(calldata.size()), ">= 4");
    return;
  }
  compare(m, id, "calldata [selector]", hex(ByteView(calldata.data(), 4)),
          hex(ByteView(kMultiSendSelector.data(), kMultiSendSelector.size())));
  const ByteView args(calldata.data() + 4, calldata.size() - 4);
  const std::vector<AbiType> types = {AbiType::bytes()};
  const auto decoded = abi_decode(types, args);
  if (!decoded) {
    m.error(id, "calldata [abi_decode(bytes)]", decoded.error().message());
    return;
  }
  compare(m, id, "calldata [consumed]", std::to_string(decoded->consumed), std::to_string(args.size()));
  compare(m, id, "calldata [trailing]", hex(decoded->trailing), "0x");
  const Bytes* argument = decoded->values.size() == 1 ? decoded->values[0].get_if<Bytes>() : nullptr;
  if (argument == nullptr) {
    m.error(id, "calldata [abi_decode(bytes)]", "not one bytes value");
    return;
  }
  compare(m, id, "calldata [transactions argument]", hex(*argument), hex(packed));
  const std::vector<AbiValue> values = {AbiValue::bytes(packed)};
  compare(m, id, "calldata [selector || abi_encode(transactions)]",
          hex(ByteView(calldata.data(), 4)) + to_hex_bare(abi_encode(types, values)), hex(calldata));
  // The argument's contents start after the selector, the offset word and the length word.
  const std::size_t base = 4 + 32 + 32;
  const auto from_calldata = parse_multisend(*argument, base);
  if (!from_calldata) {
    m.error(id, "calldata [parse_multisend]", from_calldata.error().message());
    return;
  }
  compare_json(m, id, "items [from calldata]", multisend_items_json(*from_calldata), viem_items);
  check_item_offsets(m, id, "items [from calldata]", *from_calldata, base);
}

}  // namespace

TEST_SUITE("differential") {
  TEST_CASE("transactions decode to viem's fields, signing hash, hash and sender") {
    const auto cases = load_cases("transaction");
    Mismatches m;
    std::map<int, std::size_t> per_type;
    const auto n = for_each_case(m, cases, [&](const std::string& id, const json& c) {
      ++per_type[c.at("tx_type").get<int>()];
      check_transaction(m, id, c);
    });
    m.finish("transaction", n);
    CHECK(n >= kMinCasesPerKind);
    for (int type = 0; type <= 4; ++type) {
      INFO("transaction type " << type);
      CHECK(per_type[type] >= 100);
    }
  }

  TEST_CASE("ABI decoding agrees with viem and re-encodes to the same bytes") {
    const auto cases = load_cases("abi");
    Mismatches m;
    const auto n = for_each_case(m, cases, [&](const std::string& id, const json& c) { check_abi(m, id, c); });
    m.finish("abi", n);
    CHECK(n >= kMinCasesPerKind);
  }

  TEST_CASE("EIP-712 digests agree with viem") {
    const auto cases = load_cases("typed_data");
    Mismatches m;
    const auto n = for_each_case(m, cases, [&](const std::string& id, const json& c) { check_typed_data(m, id, c); });
    m.finish("typed_data", n);
    CHECK(n >= kMinCasesPerKind);
  }

  TEST_CASE("SafeTx hashes agree with viem for every Safe version") {
    const auto cases = load_cases("safe_tx");
    Mismatches m;
    std::map<std::string, std::size_t> versions;
    const auto n =
        for_each_case(m, cases, [&](const std::string& id, const json& c) { check_safe_tx(m, id, c, versions); });
    m.finish("safe_tx", n);
    CHECK(n >= kMinCasesPerKind);
    for (const auto v : kSafeVersions) {
      INFO("Safe version " << v);
      CHECK(versions[std::string(v)] >= 100);
    }
  }

  TEST_CASE("MultiSend batches agree with viem") {
    const auto cases = load_cases("multisend");
    Mismatches m;
    const auto n = for_each_case(m, cases, [&](const std::string& id, const json& c) { check_multisend(m, id, c); });
    m.finish("multisend", n);
    CHECK(n >= kMinCasesPerKind);
  }
}
