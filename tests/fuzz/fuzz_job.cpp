// Fuzz target: the job JSON parser and validator. It must never throw or crash; a job it
// accepts must survive a round trip through its canonical JSON unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "worker/job.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = iamq::worker::parse_job(text);
  if (auto* err = std::get_if<iamq::worker::JobError>(&parsed)) {
    if (err->message.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const auto& job = std::get<iamq::worker::Job>(parsed);
  std::string again = iamq::worker::to_json(job).dump();
  auto reparsed = iamq::worker::parse_job(again);
  const auto* job2 = std::get_if<iamq::worker::Job>(&reparsed);
  if (!job2) std::abort();
  if (iamq::worker::to_json(*job2).dump() != again) std::abort();
  return 0;
}
