// `iamq watch [--interval DURATION] [--once]`: a live view of the queue — counts, rates, a
// progress bar towards the drained state, recent failures. Plain lines when stdout is not a
// terminal (one line per sample).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "worker/commands/commands.hpp"
#include "worker/commands/queue_session.hpp"

namespace iamq::commands {

namespace {

struct WatchFlags {
  std::string interval = "2s";
  bool once = false;
};

long long count(const queue::QueueStats& s, const char* k) {
  auto it = s.counts.find(k);
  return it == s.counts.end() ? 0 : it->second;
}

long long finished(const queue::QueueStats& s) {
  return count(s, "succeeded") + count(s, "failed") + count(s, "dead");
}

long long remaining(const queue::QueueStats& s) { return s.stream_length + s.delayed; }

/// Recent failures from the events stream: "failed"/"dead" events, newest first.
std::vector<std::string> recent_failures(QueueSession& session, std::size_t n) {
  auto r = session.command({"XREVRANGE", session.queue().keys().events(), "+", "-", "COUNT", "500"});
  std::vector<std::string> out;
  for (const auto& e : r.elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    auto f = e.elements[1].as_map();
    if (f["event"] != "failed" && f["event"] != "dead") continue;
    std::string line = format_ms(f["at"]) + "  " + f["event"] + "  " + f["id"];
    if (!f["error"].empty()) line += "  " + f["error"].substr(0, 120);
    out.push_back(line);
    if (out.size() >= n) break;
  }
  return out;
}

std::string bar(double fraction, int width) {
  int full = static_cast<int>(fraction * width + 0.5);
  std::string b = "[";
  for (int i = 0; i < width; ++i) b += i < full ? "#" : ".";
  return b + "]";
}

void run_watch(const GlobalOptions& g, const WatchFlags& f) {
  auto interval = config::parse_duration(f.interval);
  if (!interval || interval->count() <= 0) {
    std::cerr << "iamq: --interval: \"" << f.interval << "\" is not a duration (e.g. 1s, 500ms)\n";
    throw CommandFailed(2);
  }
  QueueSession session(g);
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  std::optional<queue::QueueStats> first;
  std::optional<queue::QueueStats> prev;
  long long base_remaining = 0;
  for (;;) {
    auto s = session.await<queue::QueueStats>("stats", [&](auto cb) { session.queue().stats(cb); });
    if (!first) {
      first = s;
      base_remaining = remaining(s);
    }
    double rate = 0;
    if (prev && s.now_ms > prev->now_ms) {
      rate = static_cast<double>(finished(s) - finished(*prev)) * 1000.0 /
             static_cast<double>(s.now_ms - prev->now_ms);
    }
    long long left = remaining(s);
    long long total = std::max(base_remaining, left + (finished(s) - finished(*first)));
    double progress = total == 0 ? 1.0 : 1.0 - static_cast<double>(left) / static_cast<double>(total);
    if (progress < 0) progress = 0;
    std::ostringstream pct;
    pct << std::fixed << std::setprecision(1) << progress * 100 << "%";
    std::ostringstream rs;
    rs << std::fixed << std::setprecision(1) << rate;
    if (tty) {
      std::ostringstream o;
      o << "\x1b[H\x1b[2J";  // home + clear
      o << "iamq watch  " << session.config().ns << "  " << format_ms(std::to_string(s.now_ms))
        << "  every " << config::format_duration(*interval) << "\n\n";
      o << "  queued " << count(s, "queued") << "   running " << count(s, "running")
        << "   retry_scheduled " << count(s, "retry_scheduled") << "\n";
      o << "  succeeded " << count(s, "succeeded") << "   failed " << count(s, "failed")
        << "   dead " << count(s, "dead") << "\n";
      o << "  waiting " << s.waiting << "   in flight " << s.pending << "   delayed " << s.delayed
        << "   oldest waiting " << format_age(s.oldest_waiting_age_ms) << "\n";
      o << "  finishing " << rs.str() << " jobs/s   consumers " << s.consumers.size() << "\n\n";
      o << "  " << bar(progress, 50) << " " << pct.str() << (left == 0 ? "  drained" : "") << "\n";
      for (const auto& c : s.circuits) {
        o << "\n  circuit " << c.state << ": account " << c.account << "  " << c.error << "\n";
      }
      auto fails = recent_failures(session, 5);
      if (!fails.empty()) {
        o << "\n  recent failures\n";
        for (const auto& l : fails) o << "    " << l << "\n";
      }
      std::cout << o.str() << std::flush;
    } else {
      std::cout << format_ms(std::to_string(s.now_ms)) << " queued=" << count(s, "queued")
                << " running=" << count(s, "running")
                << " retry_scheduled=" << count(s, "retry_scheduled")
                << " succeeded=" << count(s, "succeeded") << " failed=" << count(s, "failed")
                << " dead=" << count(s, "dead") << " waiting=" << s.waiting
                << " in_flight=" << s.pending << " delayed=" << s.delayed
                << " rate=" << rs.str() << "/s progress=" << pct.str()
                << (left == 0 ? " drained" : "") << std::endl;
    }
    prev = s;
    if (f.once) return;
    boost::asio::steady_timer t(session.io_context(), *interval);
    session.await_done("wait", [&](auto cb) {
      t.async_wait([cb](const boost::system::error_code&) { cb({}); });
    });
  }
}

}  // namespace

void add_watch_command(CLI::App& app, const GlobalOptions& g) {
  auto f = std::make_shared<WatchFlags>();
  CLI::App* cmd = app.add_subcommand("watch", "Live view: counts, rates, progress, recent failures");
  cmd->add_option("--interval", f->interval, "Time between samples (default 2s)");
  cmd->add_flag("--once", f->once, "Print one sample and exit");
  cmd->callback([&g, f] { run_watch(g, *f); });
}

}  // namespace iamq::commands
