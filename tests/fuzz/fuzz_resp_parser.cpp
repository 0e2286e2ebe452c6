// Fuzz target: the RESP parser (hiredis's reader with iamq's bounded reply builder). It must
// never crash, never exceed its limit, and give the same replies and the same verdict whether
// the input arrives whole or cut into pieces (the first byte picks the piece size).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "queue/resp_parser.hpp"

namespace {

void serialize(const iamq::queue::Reply& r, std::string& out) {
  out += std::to_string(static_cast<int>(r.type));
  out += ':';
  out += std::to_string(r.str.size());
  out += ':';
  out += r.str;
  out += std::to_string(r.integer);
  out += '[';
  for (const auto& e : r.elements) serialize(e, out);
  out += ']';
}

std::string run(std::string_view input, std::size_t piece) {
  iamq::queue::RespParser::Limits lim;
  lim.max_reply_bytes = 64 * 1024;
  iamq::queue::RespParser p(lim);
  std::string out;
  for (std::size_t at = 0; at < input.size(); at += piece) {
    p.feed(input.substr(at, piece));
    while (auto r = p.next()) serialize(*r, out);
    if (p.buffered() > lim.max_reply_bytes + piece) std::abort();  // the bound holds
    if (p.error()) break;
  }
  out += p.error() ? "E" : "ok";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::size_t piece = 1 + data[0] % 17;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string whole = run(input, input.size() + 1);
  std::string split = run(input, piece);
  // Split input may stop early at a budget error only if the whole input did too.
  if (whole != split) std::abort();
  // The command formatter's output always parses back to the same arguments.
  std::vector<std::string> args;
  for (std::size_t at = 0; at < input.size() && args.size() < 8; at += 7) {
    args.emplace_back(input.substr(at, 7));
  }
  if (!args.empty()) {
    iamq::queue::RespParser p;
    p.feed(iamq::queue::format_command(args));
    auto r = p.next();
    if (!r || r->elements.size() != args.size()) std::abort();
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (r->elements[i].str != args[i]) std::abort();
    }
  }
  return 0;
}
