// `iamq watch [--interval DURATION] [--once] [--until-drained]`: a live view of the queue —
// counts, rates (jobs finished, IAM calls, retries), a progress bar towards the drained state,
// recent failures. On a terminal the view is redrawn in place (the lines above it stay);
// when stdout is not a terminal it prints one plain line per sample, plus one line for each
// job that failed or was dead-lettered since the previous sample.
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <boost/asio/steady_timer.hpp>

#include "cli/commands.hpp"
#include "cli/queue_session.hpp"

namespace iamq::commands {

namespace {

struct WatchFlags {
  std::string interval = "2s";
  bool once = false;
  bool until_drained = false;
};

long long count(const queue::QueueStats& s, const char* k) {
  auto it = s.counts.find(k);
  return it == s.counts.end() ? 0 : it->second;
}

long long finished(const queue::QueueStats& s) {
  return count(s, "succeeded") + count(s, "failed") + count(s, "dead") + count(s, "cancelled");
}

/// Jobs not yet finished: entries in the stream (not yet routed + in flight), the lanes and
/// the delayed set.
long long remaining(const queue::QueueStats& s) { return s.stream_length + s.in_lanes + s.delayed; }

/// "every account" or "a, b" for the paused scopes; "" when nothing is paused.
std::string paused_text(const queue::QueueStats& s) {
  std::string out;
  for (const auto& [scope, v] : s.paused) {
    if (!out.empty()) out += ",";
    out += scope == "*" ? std::string("*") : scope;
  }
  return out;
}

/// "2026-01-01T12:00:00Z  failed  <id>  <error>" for a failed/dead event's fields.
std::string failure_line(std::map<std::string, std::string>& f) {
  std::string id = f["id"].empty() ? "(no id)" : f["id"];
  std::string line = format_ms(f["at"]) + "  " + f["event"] + "  " + id;
  std::string why = !f["error"].empty() ? f["error"] : f["reason"];
  if (!why.empty()) line += "  " + why.substr(0, 160);
  return line;
}

/// Tallies of the events stream since the watch started, read incrementally.
struct EventTally {
  std::string last_id = "0";     ///< newest event already counted
  long long calls = 0;           ///< "step" events: one per IAM call recorded
  long long retries = 0;         ///< "retry_scheduled" events
  std::deque<std::string> recent;  ///< failed/dead lines, newest first (at most kRecent)
  std::vector<std::string> fresh;  ///< failed/dead lines of the last read, oldest first
  static constexpr std::size_t kRecent = 5;
};

/// Seeds the tally: counting starts after the newest event; `recent` holds the last failures.
void start_tally(QueueSession& session, EventTally& t) {
  const std::string key = session.queue().keys().events();
  auto newest = session.command({"XREVRANGE", key, "+", "-", "COUNT", "1"});
  if (!newest.elements.empty() && newest.elements[0].is_array() &&
      !newest.elements[0].elements.empty()) {
    t.last_id = newest.elements[0].elements[0].as_string().value_or("0");
  }
  auto r = session.command({"XREVRANGE", key, "+", "-", "COUNT", "500"});
  for (const auto& e : r.elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    auto f = e.elements[1].as_map();
    if (f["event"] != "failed" && f["event"] != "dead") continue;
    t.recent.push_back(failure_line(f));
    if (t.recent.size() >= EventTally::kRecent) break;
  }
}

/// Reads the events added since the last call (bounded per sample, so a huge backlog cannot
/// stall the view; the rest is read at the next sample).
void read_events(QueueSession& session, EventTally& t) {
  const std::string key = session.queue().keys().events();
  constexpr int kPage = 2000;
  constexpr int kMaxPages = 25;
  t.fresh.clear();
  for (int page = 0; page < kMaxPages; ++page) {
    auto r = session.command({"XRANGE", key, "(" + t.last_id, "+", "COUNT", std::to_string(kPage)});
    if (r.is_error()) throw std::runtime_error("XRANGE " + key + ": " + r.str);
    for (const auto& e : r.elements) {
      if (!e.is_array() || e.elements.size() < 2) continue;
      t.last_id = e.elements[0].as_string().value_or(t.last_id);
      auto f = e.elements[1].as_map();
      const std::string& ev = f["event"];
      if (ev == "step") {
        ++t.calls;
      } else if (ev == "retry_scheduled") {
        ++t.retries;
      } else if (ev == "failed" || ev == "dead") {
        std::string line = failure_line(f);
        t.fresh.push_back(line);
        t.recent.push_front(line);
        if (t.recent.size() > EventTally::kRecent) t.recent.pop_back();
      }
    }
    if (r.elements.size() < static_cast<std::size_t>(kPage)) break;
  }
}

std::string bar(double fraction, int width) {
  int full = static_cast<int>(fraction * width + 0.5);
  std::string b = "[";
  for (int i = 0; i < width; ++i) b += i < full ? "#" : ".";
  return b + "]";
}

std::string fixed(double v, int precision) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(precision) << v;
  return o.str();
}

/// Terminal width (columns), 80 when unknown.
int terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

/// Redraws a frame in place: moves up over the previous frame, clears to the end of the
/// screen, prints the new one. Lines are cut to the terminal width so that none wraps
/// (a wrapped line would make the next move-up land in the wrong place).
class InPlaceView {
 public:
  void draw(const std::vector<std::string>& lines) {
    const std::size_t width = static_cast<std::size_t>(std::max(20, terminal_width() - 1));
    std::string out;
    if (drawn_ > 0) out += "\x1b[" + std::to_string(drawn_) + "F";  // up N lines, column 1
    out += "\x1b[J";                                                  // clear to end of screen
    for (const auto& l : lines) {
      out += l.size() > width ? l.substr(0, width) : l;
      out += "\n";
    }
    std::cout << out << std::flush;
    drawn_ = lines.size();
  }

 private:
  std::size_t drawn_ = 0;
};

void run_watch(const GlobalOptions& g, const WatchFlags& f) {
  auto interval = config::parse_duration(f.interval);
  if (!interval || interval->count() <= 0) {
    std::cerr << "iamq: --interval: \"" << f.interval << "\" is not a duration (e.g. 1s, 500ms)\n";
    throw CommandFailed(2);
  }
  QueueSession session(g);
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  InPlaceView view;
  EventTally tally;
  start_tally(session, tally);
  std::optional<queue::QueueStats> first;
  std::optional<queue::QueueStats> prev;
  long long prev_calls = 0;
  long long prev_retries = 0;
  long long base_remaining = 0;
  for (;;) {
    auto s = session.await<queue::QueueStats>("stats", [&](auto cb) { session.queue().stats(cb); });
    read_events(session, tally);
    if (!first) {
      first = s;
      base_remaining = remaining(s);
    }
    // Rates over the last interval, and job rate averaged since the watch started.
    double job_rate = 0, call_rate = 0, retry_rate = 0, avg_job_rate = 0;
    if (prev && s.now_ms > prev->now_ms) {
      const double secs = static_cast<double>(s.now_ms - prev->now_ms) / 1000.0;
      job_rate = static_cast<double>(finished(s) - finished(*prev)) / secs;
      call_rate = static_cast<double>(tally.calls - prev_calls) / secs;
      retry_rate = static_cast<double>(tally.retries - prev_retries) / secs;
    }
    const long long done_since_start = finished(s) - finished(*first);
    const double elapsed = static_cast<double>(s.now_ms - first->now_ms) / 1000.0;
    if (elapsed > 0) avg_job_rate = static_cast<double>(done_since_start) / elapsed;
    const long long left = remaining(s);
    const bool drained = left == 0;
    const long long total = std::max(base_remaining, left + done_since_start);
    double progress = total == 0 ? 1.0 : 1.0 - static_cast<double>(left) / static_cast<double>(total);
    progress = std::clamp(progress, 0.0, 1.0);
    const std::string pct = fixed(progress * 100, 1) + "%";
    std::string eta;
    if (!drained && avg_job_rate > 0) {
      eta = "  ETA " + format_age(static_cast<long long>(static_cast<double>(left) / avg_job_rate * 1000));
    }

    if (tty) {
      std::vector<std::string> o;
      o.push_back("iamq watch  " + session.config().ns + "  " + format_ms(std::to_string(s.now_ms)) +
                  "  every " + config::format_duration(*interval));
      o.push_back("");
      o.push_back("  queued " + std::to_string(count(s, "queued")) + "   running " +
                  std::to_string(count(s, "running")) + "   retry_scheduled " +
                  std::to_string(count(s, "retry_scheduled")));
      o.push_back("  succeeded " + std::to_string(count(s, "succeeded")) + "   failed " +
                  std::to_string(count(s, "failed")) + "   dead " + std::to_string(count(s, "dead")) +
                  "   cancelled " + std::to_string(count(s, "cancelled")));
      o.push_back("  waiting " + std::to_string(s.waiting + s.in_lanes) + "   in flight " + std::to_string(s.pending) +
                  "   delayed " + std::to_string(s.delayed) + "   oldest waiting " +
                  format_age(s.oldest_waiting_age_ms));
      o.push_back("  jobs " + fixed(job_rate, 1) + "/s (avg " + fixed(avg_job_rate, 1) +
                  "/s)   IAM calls " + fixed(call_rate, 0) + "/s   retries " + fixed(retry_rate, 1) +
                  "/s   consumers " + std::to_string(s.consumers.size()));
      o.push_back("");
      o.push_back("  " + bar(progress, 50) + " " + pct + (drained ? "  drained" : eta));
      if (!s.paused.empty()) {
        o.push_back("");
        o.push_back("  paused: " + (s.paused.count("*") ? std::string("every account") : paused_text(s)));
      }
      for (const auto& c : s.circuits) {
        o.push_back("");
        o.push_back("  circuit " + c.state + ": account " + c.account + "  " + c.error);
      }
      if (!tally.recent.empty()) {
        o.push_back("");
        o.push_back("  recent failures");
        for (const auto& l : tally.recent) o.push_back("    " + l);
      }
      view.draw(o);
    } else {
      if (prev) {
        for (const auto& l : tally.fresh) std::cout << l << "\n";
      }
      std::cout << format_ms(std::to_string(s.now_ms)) << " queued=" << count(s, "queued")
                << " running=" << count(s, "running")
                << " retry_scheduled=" << count(s, "retry_scheduled")
                << " succeeded=" << count(s, "succeeded") << " failed=" << count(s, "failed")
                << " dead=" << count(s, "dead") << " cancelled=" << count(s, "cancelled")
                << " waiting=" << s.waiting + s.in_lanes
                << " in_flight=" << s.pending << " delayed=" << s.delayed
                << " rate=" << fixed(job_rate, 1) << "/s calls=" << fixed(call_rate, 0)
                << "/s retries=" << fixed(retry_rate, 1) << "/s progress=" << pct
                << (s.paused.empty() ? "" : " paused=" + paused_text(s))
                << (drained ? " drained" : "") << std::endl;
    }
    prev = s;
    prev_calls = tally.calls;
    prev_retries = tally.retries;
    if (f.once || (f.until_drained && drained)) return;
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
  cmd->add_flag("--until-drained", f->until_drained,
                "Exit 0 at the first sample where the stream and the delayed set are empty");
  cmd->callback([&g, f] { run_watch(g, *f); });
}

}  // namespace iamq::commands
