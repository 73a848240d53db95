// Transaction decoding against published vectors (fixtures/tx-vectors, provenance in
// fixtures/README.md): the official ethereum/tests TransactionTests, ethers.js's random
// transactions in five encodings, 100 real mainnet transactions and generated EIP-7702 ones.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/codec/transaction.hpp"
#include "policy/codec/u256.hpp"
#include "tests/support/paths.hpp"

using namespace txguard::codec;
using nlohmann::json;

namespace {

const std::string kVectors = txguard::test::fixtures_dir() + "/tx-vectors";

json load_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "missing fixture " << path);
  return json::parse(in);
}

Bytes hex(const std::string& text) { return from_hex(text).value(); }
U256 num(const json& value) {
  if (value.is_number_unsigned()) return U256(value.get<std::uint64_t>());
  return parse_u256(value.get<std::string>()).value();
}
std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// ---- ethereum/tests TransactionTests ----

// Fork order, oldest first: each case is judged by its newest fork's result.
const std::vector<std::string> kForks{"Frontier", "Homestead", "EIP150",   "EIP158", "Byzantium",
                                      "Constantinople", "ConstantinopleFix", "Istanbul", "Berlin",
                                      "London", "Paris", "Shanghai", "Cancun", "Prague", "Osaka"};

// The decode errors that may stand for each expected exception. A case rejected for a reason
// unrelated to its exception would mean the decoder rejects it by accident.
const std::map<std::string, std::set<DecodeErrc>> kExceptionCodes{
    {"ADDRESS_TOO_LONG", {DecodeErrc::kWrongLength}},
    {"ADDRESS_TOO_SHORT", {DecodeErrc::kWrongLength}},
    {"EC_RECOVERY_FAIL", {DecodeErrc::kInvalidSignature}},
    {"GASLIMIT_OVERFLOW", {DecodeErrc::kOverflow, DecodeErrc::kLeadingZero}},
    {"GASPRICE_OVERFLOW", {DecodeErrc::kOverflow}},
    {"PRIORITY_OVERFLOW", {DecodeErrc::kOverflow}},
    {"VALUE_OVERFLOW", {DecodeErrc::kOverflow}},
    {"NONCE_OVERFLOW", {DecodeErrc::kOverflow}},
    {"NONCE_TOO_BIG", {DecodeErrc::kInvalidField}},
    // Chain id 0, or a chain other than 1 (the tests are filled for chain 1), or v outside the set.
    {"INVALID_CHAINID", {DecodeErrc::kInvalidV, DecodeErrc::kInvalidField}},
    {"INVALID_SIGNATURE_VRS",
     {DecodeErrc::kInvalidSignature, DecodeErrc::kHighS, DecodeErrc::kInvalidV, DecodeErrc::kOverflow}},
    {"RLP_ERROR_EOF", {DecodeErrc::kInputTooShort, DecodeErrc::kUnexpectedString}},
    {"RLP_ERROR_SIZE", {DecodeErrc::kInputTooShort, DecodeErrc::kTrailingBytes}},
    {"RLP_ERROR_SIZE_LEADING_ZEROS", {DecodeErrc::kNonCanonicalSize}},
    {"RLP_LEADING_ZEROS_DATA_SIZE", {DecodeErrc::kNonCanonicalSize}},
    {"RLP_LEADING_ZEROS_NONCE_SIZE", {DecodeErrc::kNonCanonicalSingleByte}},
    {"RLP_INVALID_ACCESS_LIST_ADDRESS_TOO_LONG", {DecodeErrc::kWrongLength}},
    {"RLP_INVALID_ACCESS_LIST_ADDRESS_TOO_SHORT", {DecodeErrc::kWrongLength}},
    {"RLP_INVALID_ACCESS_LIST_STORAGE_TOO_LONG", {DecodeErrc::kWrongLength}},
    {"RLP_INVALID_ACCESS_LIST_STORAGE_TOO_SHORT", {DecodeErrc::kWrongLength}},
    {"RLP_INVALID_DATA", {DecodeErrc::kUnexpectedList}},
    {"RLP_INVALID_GASLIMIT", {DecodeErrc::kUnexpectedList}},
    {"RLP_INVALID_NONCE", {DecodeErrc::kUnexpectedList}},
    {"RLP_INVALID_SIGNATURE_R", {DecodeErrc::kUnexpectedList}},
    {"RLP_INVALID_SIGNATURE_S", {DecodeErrc::kUnexpectedList}},
    {"RLP_INVALID_TO", {DecodeErrc::kUnexpectedList}},
    {"RLP_INVALID_HEADER", {DecodeErrc::kUnexpectedString}},
    {"RLP_LEADING_ZEROS_BASEFEE", {DecodeErrc::kLeadingZero}},
    {"RLP_LEADING_ZEROS_GASLIMIT", {DecodeErrc::kLeadingZero}},
    {"RLP_LEADING_ZEROS_GASPRICE", {DecodeErrc::kLeadingZero}},
    {"RLP_LEADING_ZEROS_NONCE", {DecodeErrc::kLeadingZero}},
    {"RLP_LEADING_ZEROS_PRIORITY_FEE", {DecodeErrc::kLeadingZero}},
    {"RLP_LEADING_ZEROS_R", {DecodeErrc::kLeadingZero}},
    {"RLP_LEADING_ZEROS_S", {DecodeErrc::kLeadingZero}},
    {"RLP_LEADING_ZEROS_V", {DecodeErrc::kLeadingZero}},
    {"RLP_LEADING_ZEROS_VALUE", {DecodeErrc::kLeadingZero}},
    {"RLP_TOO_FEW_ELEMENTS", {DecodeErrc::kWrongFieldCount}},
    {"RLP_TOO_MANY_ELEMENTS", {DecodeErrc::kWrongFieldCount}},
    // Type byte outside 1..4, a string instead of a list, or type 4 with a type-2 body.
    {"TYPE_NOT_SUPPORTED",
     {DecodeErrc::kUnsupportedTxnType, DecodeErrc::kUnexpectedString, DecodeErrc::kWrongFieldCount}},
};

struct OfficialResults {
  int valid = 0;            // valid cases whose hash, sender and re-encoding matched
  int rejected = 0;         // invalid cases rejected with an error that fits their exception
  std::set<std::string> accepted_invalid;  // invalid cases the decoder accepts: must be SKIPPED.md
  std::vector<std::string> failures;
};

const OfficialResults& official_results() {
  static const OfficialResults results = [] {
    OfficialResults r;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(kVectors + "/ethereum-tests")) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    // The tests are filled for chain id 1 and describe signed network transactions.
    TxnDecodeOptions options;
    options.form = TxnForm::kSigned;
    options.expected_chain_id = 1;
    for (const auto& path : files) {
      const json file = load_json(path.string());
      for (const auto& [case_name, test] : file.items()) {
        // Each file holds one case (whose name sometimes differs from the file's): the file names it.
        const std::string id = path.parent_path().filename().string() + "/" + path.stem().string() +
                               (file.size() == 1 ? "" : "#" + case_name);
        std::string fork;
        std::ptrdiff_t newest = -1;
        for (const auto& [name, _] : test.at("result").items()) {
          const auto at = std::find(kForks.begin(), kForks.end(), name) - kForks.begin();
          if (at >= static_cast<std::ptrdiff_t>(kForks.size())) r.failures.push_back(id + ": unknown fork " + name);
          if (at > newest) newest = at, fork = name;
        }
        const json& expected = test.at("result").at(fork);
        const Bytes raw = hex(test.at("txbytes").get<std::string>());
        const auto txn = decode_transaction(raw, options);
        if (!expected.contains("exception")) {
          if (!txn) {
            r.failures.push_back(id + ": valid but rejected: " + txn.error().message());
          } else if (to_hex(*txn->hash) != expected.at("hash").get<std::string>() ||
                     !txn->from || to_hex(txn->from->view()) != lower(expected.at("sender").get<std::string>()) ||
                     encode_transaction(*txn) != raw) {
            r.failures.push_back(id + ": hash, sender or re-encoding differs");
          } else {
            ++r.valid;
          }
          continue;
        }
        std::string exception = expected.at("exception").get<std::string>();
        exception = exception.substr(exception.find('.') + 1);
        if (txn) {
          r.accepted_invalid.insert(id);
          continue;
        }
        const auto codes = kExceptionCodes.find(exception);
        if (codes == kExceptionCodes.end() || !codes->second.contains(txn.error().code)) {
          r.failures.push_back(id + ": " + exception + " rejected as " + txn.error().message());
        } else {
          ++r.rejected;
        }
      }
    }
    return r;
  }();
  return results;
}

// The case ids listed in SKIPPED.md: lines of the form "- `ttDir/Case` ...".
std::set<std::string> skipped_list() {
  std::ifstream in(kVectors + "/SKIPPED.md");
  REQUIRE(in.good());
  std::set<std::string> ids;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("- `")) continue;
    const auto end = line.find('`', 3);
    REQUIRE(end != std::string::npos);
    ids.insert(line.substr(3, end - 3));
  }
  return ids;
}

// ---- ethers.js test cases ----

struct EthersEncoding {
  const char* name;  // suffix of unsignedX / signedX / signatureX
  TxnType type;
  bool has_chain_id;
};
const EthersEncoding kEthersEncodings[] = {
    {"Legacy", TxnType::kLegacy, false},     {"Eip155", TxnType::kLegacy, true},
    {"Berlin", TxnType::kAccessList, true},  {"London", TxnType::kDynamicFee, true},
    {"Cancun", TxnType::kBlob, true},
};

// The fields of ethers' "transaction" object that this encoding carries.
void check_fields(const Transaction& txn, const json& expected, const EthersEncoding& encoding) {
  CHECK(txn.type == encoding.type);
  CHECK(txn.nonce == expected.at("nonce").get<std::uint64_t>());
  CHECK(U256(txn.gas_limit) == num(expected.at("gasLimit")));
  REQUIRE(txn.to.has_value());
  CHECK(*txn.to == parse_address(expected.at("to").get<std::string>()).value());
  CHECK(txn.value == num(expected.at("value")));
  CHECK(txn.data == hex(expected.at("data").get<std::string>()));
  if (encoding.has_chain_id) {
    REQUIRE(txn.chain_id.has_value());
    CHECK(U256(*txn.chain_id) == num(expected.at("chainId")));
  } else {
    CHECK(!txn.chain_id.has_value());
  }
  if (encoding.type == TxnType::kLegacy || encoding.type == TxnType::kAccessList) {
    CHECK(txn.gas_price == num(expected.at("gasPrice")));
  } else {
    CHECK(txn.max_fee_per_gas == num(expected.at("maxFeePerGas")));
    CHECK(txn.max_priority_fee_per_gas == num(expected.at("maxPriorityFeePerGas")));
  }
  if (encoding.type != TxnType::kLegacy) {
    const json& list = expected.at("accessList");
    REQUIRE(txn.access_list.size() == list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      CHECK(txn.access_list[i].address == parse_address(list[i].at("address").get<std::string>()).value());
      const json& keys = list[i].at("storageKeys");
      REQUIRE(txn.access_list[i].storage_keys.size() == keys.size());
      for (std::size_t k = 0; k < keys.size(); ++k) {
        CHECK(to_hex(txn.access_list[i].storage_keys[k]) == keys[k].get<std::string>());
      }
    }
  }
  if (encoding.type == TxnType::kBlob) {
    CHECK(txn.max_fee_per_blob_gas == num(expected.at("maxFeePerBlobGas")));
    const json& hashes = expected.at("blobVersionedHashes");
    REQUIRE(txn.blob_versioned_hashes.size() == hashes.size());
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      CHECK(to_hex(txn.blob_versioned_hashes[i]) == hashes[i].get<std::string>());
    }
  }
}

}  // namespace

TEST_SUITE("transaction_vectors") {
  TEST_CASE("official TransactionTests: valid cases give hash and sender, invalid ones fail for their reason") {
    const OfficialResults& r = official_results();
    for (const auto& failure : r.failures) FAIL_CHECK(failure);
    CHECK(r.failures.empty());
    // 210 cases in the fixture: 50 valid, 160 invalid, of which SKIPPED.md names the consensus-only ones.
    CHECK(r.valid == 50);
    CHECK(r.rejected + static_cast<int>(r.accepted_invalid.size()) == 160);
    MESSAGE("TransactionTests: " << r.valid << " valid matched, " << r.rejected << " invalid rejected, "
                                 << r.accepted_invalid.size() << " skipped (consensus-only)");
  }

  TEST_CASE("SKIPPED.md lists exactly the invalid TransactionTests the decoder accepts") {
    const std::set<std::string> listed = skipped_list();
    const std::set<std::string>& accepted = official_results().accepted_invalid;
    for (const auto& id : accepted) CHECK_MESSAGE(listed.contains(id), id << " is accepted but not in SKIPPED.md");
    for (const auto& id : listed) CHECK_MESSAGE(accepted.contains(id), id << " is in SKIPPED.md but rejected");
    CHECK(listed.size() == 11);
  }

  TEST_CASE("ethers: 120 transactions in five encodings, unsigned and signed, decode and re-encode exactly") {
    const json cases = load_json(kVectors + "/ethers-testcases/transactions.sample120.json");
    REQUIRE(cases.size() == 120);
    int checked = 0;
    for (const json& c : cases) {
      CAPTURE(c.at("name").get<std::string>());
      const json& expected = c.at("transaction");
      const SecretKey key(from_hex_fixed<32>(c.at("privateKey").get<std::string>()).value());
      const Address signer = address_of(key).value();
      for (const EthersEncoding& encoding : kEthersEncodings) {
        CAPTURE(encoding.name);
        const Bytes unsigned_raw = hex(c.at(std::string("unsigned") + encoding.name).get<std::string>());
        const Bytes signed_raw = hex(c.at(std::string("signed") + encoding.name).get<std::string>());

        TxnDecodeOptions unsigned_only;
        unsigned_only.form = TxnForm::kUnsigned;
        auto unsigned_txn = decode_transaction(unsigned_raw, unsigned_only);
        REQUIRE_MESSAGE(unsigned_txn.has_value(), unsigned_txn.error().message());
        check_fields(*unsigned_txn, expected, encoding);
        CHECK(!unsigned_txn->signature.has_value());
        CHECK(!unsigned_txn->hash.has_value());
        CHECK(unsigned_txn->signing_hash == keccak256(unsigned_raw));
        CHECK(signing_hash(*unsigned_txn) == unsigned_txn->signing_hash);
        CHECK(encode_transaction(*unsigned_txn) == unsigned_raw);

        // Signing the signing hash with the key must give ethers' signed encoding byte for byte
        // (both sign with RFC 6979 nonces and low s).
        const auto sig = sign_digest(unsigned_txn->signing_hash, key);
        REQUIRE(sig.has_value());
        Transaction signed_by_us = *unsigned_txn;
        signed_by_us.signature = TxnSignature{0, sig->recovery_id, sig->r, sig->s};
        CHECK(encode_transaction(signed_by_us) == signed_raw);

        TxnDecodeOptions signed_only;
        signed_only.form = TxnForm::kSigned;
        auto signed_txn = decode_transaction(signed_raw, signed_only);
        REQUIRE_MESSAGE(signed_txn.has_value(), signed_txn.error().message());
        check_fields(*signed_txn, expected, encoding);
        CHECK(signed_txn->signing_hash == unsigned_txn->signing_hash);
        CHECK(signed_txn->hash == keccak256(signed_raw));
        CHECK(signed_txn->from == signer);
        REQUIRE(signed_txn->signature.has_value());
        const json& expected_sig = c.at(std::string("signature") + encoding.name);
        CHECK(signed_txn->signature->v == num(expected_sig.at("v")));
        CHECK(to_hex(signed_txn->signature->r) == expected_sig.at("r").get<std::string>());
        CHECK(to_hex(signed_txn->signature->s) == expected_sig.at("s").get<std::string>());
        CHECK(encode_transaction(*signed_txn) == signed_raw);
        ++checked;
      }
    }
    CHECK(checked == 600);
  }

  TEST_CASE("mainnet block 18189758: 100 real transactions give hash, sender, nonce, to, type and selector") {
    const json file = load_json(kVectors + "/mainnet-blocks/mainnet_txs_block_18189758.json");
    const json& vectors = file.at("vectors");
    REQUIRE(vectors.size() == 100);
    int checked = 0;
    for (const json& v : vectors) {
      CAPTURE(v.at("index").get<int>());
      const json& expected = v.at("expected");
      const Bytes raw = hex(v.at("raw").get<std::string>());
      TxnDecodeOptions options;
      options.form = TxnForm::kSigned;
      options.expected_chain_id = 1;
      auto txn = decode_transaction(raw, options);
      REQUIRE_MESSAGE(txn.has_value(), txn.error().message());
      CHECK(to_hex(*txn->hash) == expected.at("hash").get<std::string>());
      REQUIRE(txn->from.has_value());
      CHECK(to_checksum(*txn->from) == expected.at("from").get<std::string>());
      CHECK(static_cast<int>(txn->type) == expected.at("type").get<int>());
      CHECK(txn->nonce == expected.at("nonce").get<std::uint64_t>());
      if (expected.at("to").is_null()) {
        CHECK(!txn->to.has_value());
      } else {
        REQUIRE(txn->to.has_value());
        CHECK(to_checksum(*txn->to) == expected.at("to").get<std::string>());
      }
      CHECK(txn->value == num(expected.at("value")));
      CHECK(U256(txn->gas_limit) == num(expected.at("gasLimit")));
      CHECK(txn->data.size() == expected.at("dataLength").get<std::size_t>());
      const json& selector = expected.at("selector");
      if (selector.is_null()) {
        CHECK(txn->data.size() < 4);
      } else {
        REQUIRE(txn->data.size() >= 4);
        CHECK(to_hex(ByteView(txn->data).first(4)) == selector.get<std::string>());
      }
      CHECK(to_hex(txn->signature->r) == expected.at("r").get<std::string>());
      CHECK(to_hex(txn->signature->s) == expected.at("s").get<std::string>());
      CHECK(encode_transaction(*txn) == raw);
      ++checked;
    }
    CHECK(checked == 100);
  }

  TEST_CASE("EIP-7702 generated vectors: hash, sender and every authority recover") {
    const json file = load_json(kVectors + "/generated/eip7702_generated.json");
    const json& vectors = file.at("vectors");
    REQUIRE(vectors.size() == 3);
    for (const json& v : vectors) {
      CAPTURE(v.at("name").get<std::string>());
      const json& expected = v.at("expected");
      const Bytes raw = hex(v.at("raw").get<std::string>());
      auto txn = decode_transaction(raw);
      REQUIRE_MESSAGE(txn.has_value(), txn.error().message());
      CHECK(txn->type == TxnType::kSetCode);
      CHECK(to_hex(*txn->hash) == expected.at("hash").get<std::string>());
      CHECK(to_checksum(txn->from.value()) == expected.at("from").get<std::string>());
      CHECK(to_checksum(txn->to.value()) == expected.at("to").get<std::string>());
      CHECK(txn->nonce == expected.at("nonce").get<std::uint64_t>());
      CHECK(U256(txn->chain_id.value()) == num(expected.at("chainId")));
      const json& auths = expected.at("authorizationList");
      REQUIRE(txn->authorization_list.size() == auths.size());
      for (std::size_t i = 0; i < auths.size(); ++i) {
        const Authorization& a = txn->authorization_list[i];
        const json& e = auths[i];
        CHECK(a.chain_id == num(e.at("chainId")));
        CHECK(to_checksum(a.address) == e.at("address").get<std::string>());
        CHECK(U256(a.nonce) == num(e.at("nonce")));
        CHECK(a.y_parity == e.at("yParity").get<int>());
        CHECK(to_hex(a.r) == e.at("r").get<std::string>());
        CHECK(to_hex(a.s) == e.at("s").get<std::string>());
        CHECK(to_hex(authorization_signing_hash(a)) == e.at("authorityHash").get<std::string>());
        CHECK(!a.authority_error.has_value());
        REQUIRE(a.authority.has_value());
        CHECK(to_checksum(*a.authority) == e.at("authority").get<std::string>());
      }
      CHECK(encode_transaction(*txn) == raw);
      // The key signs what the decoder computed as the signing hash.
      const SecretKey key(from_hex_fixed<32>(v.at("privateKey").get<std::string>()).value());
      CHECK(address_of(key) == txn->from);
    }
  }
}
