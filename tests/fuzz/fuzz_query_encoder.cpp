// Fuzz target: the Query protocol encoder. Input is split on NUL into alternating names and
// values; whatever the bytes, encode → decode must give back exactly the same parameters, and
// the encoded body must contain only unreserved characters, '%XX', '&' and '='.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "client/query_encoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using iamq::client::Params;
  std::string in(reinterpret_cast<const char*>(data), size);
  Params params;
  size_t pos = 0;
  std::string pending;
  bool have_name = false;
  while (pos <= in.size()) {
    size_t nul = in.find('\0', pos);
    if (nul == std::string::npos) nul = in.size();
    std::string piece = in.substr(pos, nul - pos);
    if (!have_name) {
      pending = piece;
      have_name = true;
    } else {
      params.emplace_back(pending, piece);
      have_name = false;
    }
    pos = nul + 1;
  }
  std::string body = iamq::client::encode_query("ListUsers", params);
  for (char c : body) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '~' || c == '%' || c == '&' || c == '=';
    if (!ok) std::abort();
  }
  Params decoded = iamq::client::decode_query(body);
  Params expected = {{"Action", "ListUsers"}, {"Version", "2010-05-08"}};
  expected.insert(expected.end(), params.begin(), params.end());
  if (decoded != expected) std::abort();
  return 0;
}
