// iamq-emulator: a strict, fault-injecting AWS IAM stand-in for tests, demos and rehearsals.
// Prints "listening on HOST:PORT" as its first stdout line, serves until SIGTERM/SIGINT (exit 0).
// Bad flags or a bad seed/faults file: a message on stderr, exit 2.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include "tests/iam_emulator/emulator.hpp"
#include "tests/iam_emulator/server.hpp"

namespace {

/// "HOST:PORT" → endpoint; nullopt when malformed.
std::optional<boost::asio::ip::tcp::endpoint> parse_listen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_text = s.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  int port = std::stoi(port_text);
  if (port > 65535) return std::nullopt;
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return boost::asio::ip::tcp::endpoint(addr, static_cast<unsigned short>(port));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace iamq::emulator;
  CLI::App app{"iamq-emulator: a strict, fault-injecting AWS IAM stand-in (loopback test double)"};
  app.set_version_flag("--version", "iamq-emulator 0.1.0");

  std::string listen = "127.0.0.1:0";
  std::string seed_file;
  std::string faults_file;
  std::string sts_seed_file;
  int credential_ttl_s = 0;
  int generate = 0;
  std::uint64_t random_seed = 1;
  Options options;
  int max_skew_s = 300;
  std::optional<double> latency_ms, jitter_ms, window_s, rate, burst;
  std::string unimplemented;
  std::optional<double> p_unmodifiable, p_concurrent, p_failure, p_503, p_drop;

  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: a free one)")
      ->capture_default_str();
  app.add_option("--seed", seed_file, "JSON seed file: accounts, keys, users, groups, policies");
  app.add_option("--generate-users", generate, "add N generated users (user-00001…) to the default account")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--random-seed", random_seed, "seed of every random draw (faults, jitter, generated users)")
      ->capture_default_str();
  app.add_option("--page-size", options.page_size, "List* page size when MaxItems is absent")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--region", options.region, "region credential scopes must name")->capture_default_str();
  app.add_option("--max-clock-skew", max_skew_s, "seconds a signature may be off the clock (RequestExpired)")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--sts-seed", sts_seed_file,
                 "JSON STS/Organizations seed: roles (trust, ExternalId, web identity), tokens, organization");
  app.add_option("--credential-ttl", credential_ttl_s,
                 "seconds every issued session lives, whatever DurationSeconds asks (0: as asked)")
      ->check(CLI::Range(0, 43200));
  app.add_option("--faults", faults_file, "JSON faults file (the /_emulator/faults format); flags below override it");
  app.add_option("--latency-ms", latency_ms, "fixed latency added to every IAM call")->check(CLI::Range(0.0, 600000.0));
  app.add_option("--jitter-ms", jitter_ms, "plus uniform random latency in [0, jitter)")->check(CLI::Range(0.0, 600000.0));
  app.add_option("--fault-unmodifiable", p_unmodifiable, "probability of EntityTemporarilyUnmodifiable (mutating calls)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault-concurrent-modification", p_concurrent, "probability of ConcurrentModification (mutating calls)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault-service-failure", p_failure, "probability of ServiceFailure 500")->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault-html-503", p_503, "probability of an HTML 503 page")->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault-drop-connection", p_drop, "probability of closing the connection without answering")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--unmodifiable-window", window_s, "seconds after a change during which an entity answers EntityTemporarilyUnmodifiable")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--rate-limit", rate, "account calls per second (token bucket); 0: unlimited")->check(CLI::Range(0.0, 1e9));
  app.add_option("--rate-burst", burst, "token bucket size (default: the rate)")->check(CLI::Range(0.0, 1e9));

  app.add_option("--unimplemented", unimplemented,
                 "ACTION[:500|html|501][,...]: answer these actions as an endpoint that lacks them "
                 "(500 plain text like moto, 500 HTML page, or 501 like LocalStack)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  auto endpoint = parse_listen(listen);
  if (!endpoint) {
    std::cerr << "iamq-emulator: --listen: expected HOST:PORT with an IP address, got \"" << listen << "\"\n";
    return 2;
  }
  options.random_seed = random_seed;
  options.max_clock_skew = std::chrono::seconds(max_skew_s);

  State state = State::with_default_account();
  StsState sts;
  try {
    if (!faults_file.empty()) {
      std::ifstream in(faults_file);
      if (!in) throw SeedError("faults file " + faults_file + ": cannot be read");
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(in);
      } catch (const nlohmann::json::exception& e) {
        throw SeedError("faults file " + faults_file + ": not valid JSON: " + e.what());
      }
      try {
        options.faults = faults_from_json(j);
      } catch (const SeedError& e) {
        throw SeedError("faults file " + faults_file + ": " + e.what());
      }
    }
    if (!unimplemented.empty()) options.unimplemented = parse_unimplemented(unimplemented);
    if (!seed_file.empty()) load_seed_file(state, seed_file);
    if (!sts_seed_file.empty()) {
      std::ifstream in(sts_seed_file);
      if (!in) throw SeedError("sts seed file " + sts_seed_file + ": cannot be read");
      nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
      if (j.is_discarded()) throw SeedError("sts seed file " + sts_seed_file + ": not valid JSON");
      load_sts_seed(sts, state, j);
    }
    sts.credential_ttl = std::chrono::seconds(credential_ttl_s);
    if (generate > 0) generate_users(state, generate, random_seed);
  } catch (const SeedError& e) {
    std::cerr << "iamq-emulator: " << e.what() << "\n";
    return 2;
  }
  FaultConfig& f = options.faults;
  if (latency_ms) f.latency_ms = *latency_ms;
  if (jitter_ms) f.jitter_ms = *jitter_ms;
  if (window_s) f.unmodifiable_window_s = *window_s;
  if (rate) f.rate_limit = *rate;
  if (burst) f.rate_burst = *burst;
  auto& any = f.actions["*"];
  if (p_unmodifiable) any.unmodifiable = *p_unmodifiable;
  if (p_concurrent) any.concurrent_modification = *p_concurrent;
  if (p_failure) any.service_failure = *p_failure;
  if (p_503) any.html_503 = *p_503;
  if (p_drop) any.drop_connection = *p_drop;
  if (!any.unmodifiable && !any.concurrent_modification && !any.service_failure && !any.html_503 &&
      !any.drop_connection)
    f.actions.erase("*");

  Emulator emulator(std::move(state), std::move(options), std::move(sts));
  boost::asio::io_context ioc(1);
  std::optional<Server> server;
  try {
    server.emplace(ioc, emulator, *endpoint);
  } catch (const boost::system::system_error& e) {
    std::cerr << "iamq-emulator: cannot listen on " << listen << ": " << e.code().message() << "\n";
    return 1;
  }
  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server->stop();
    ioc.stop();
  });
  server->start();

  auto bound = server->local_endpoint();
  std::printf("listening on %s:%u\n", bound.address().to_string().c_str(),
              static_cast<unsigned>(bound.port()));
  std::fflush(stdout);
  std::size_t users = 0;
  for (const auto& [id, acct] : emulator.state().accounts) users += acct.users.size();
  std::fprintf(stderr, "iamq-emulator: %zu account(s), %zu key(s), %zu user(s); admin under /_emulator/\n",
               emulator.state().accounts.size(), emulator.state().keys.size(), users);

  ioc.run();
  return 0;
}
