// Fuzz target: the emulator's request parser and dispatcher. Input is a raw HTTP request
// head and body ("METHOD TARGET\nName: value\n…\n\nbody"). The core must never crash, must
// always answer with a real HTTP status, and must never let an unsigned IAM call succeed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/iam_emulator/emulator.hpp"

using namespace iamq::emulator;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Emulator* emulator = [] {
    Options opts;
    opts.random_seed = 7;
    State state = State::with_default_account();
    generate_users(state, 3, 7);
    return new Emulator(std::move(state), opts);
  }();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto take_line = [&in]() {
    auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    return line;
  };
  std::string_view request_line = take_line();
  auto sp = request_line.find(' ');
  std::string method(request_line.substr(0, sp));
  std::string target(sp == std::string_view::npos ? "/" : request_line.substr(sp + 1));
  std::vector<std::pair<std::string, std::string>> headers;
  while (!in.empty()) {
    std::string_view line = take_line();
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  Response r = handle_raw(*emulator, method, target, headers, in);
  if (r.status < 100 || r.status > 599) std::abort();
  bool admin = target.rfind("/_emulator/", 0) == 0;
  bool has_auth = false;
  for (const auto& [k, v] : headers) {
    if (k.size() == 13 && (k[0] == 'A' || k[0] == 'a')) has_auth = true;  // "Authorization"
  }
  // Without any Authorization header an IAM call can never succeed.
  if (!admin && !has_auth && r.status == 200 && !r.drop_connection) std::abort();
  return 0;
}
