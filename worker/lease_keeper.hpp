#pragma once
/// The lease keeper (sans-io; time is passed in): decides when the worker renews its claims
/// and takes back the claims of workers that stopped renewing (one script,
/// queue/lua/lease.lua: renewal first, so a live claim of this worker is never taken back),
/// and when due delayed jobs are promoted into their lanes; and what a lease answer means for
/// the jobs this worker runs. The shell (worker.cpp) calls tick() when next_due() comes,
/// carries out the work it returns, and reports the answers.
///
///  - lease: at start, then every max(500 ms, visibility_timeout / 3), also while stopping
///    (claims of jobs still finishing must not be taken back), whatever the last answer was;
///  - promote: at start, then every `promote_every`, never once the worker stops;
///  - a lease answer: the claims it says we lost are abandoned; reclaimed or dead-lettered
///    jobs of other workers mean the lanes have work (fill).
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace iamq::worker {

class LeaseKeeper {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds visibility_timeout{60000};
    std::chrono::milliseconds promote_every{500};
    std::size_t reclaim_batch = 500;  ///< claims taken back per lease
    std::size_t promote_batch = 200;  ///< delayed jobs promoted per run
  };

  /// What is due now.
  struct Work {
    bool lease = false;
    bool promote = false;
  };

  /// What a lease answer means.
  struct LeaseVerdict {
    std::vector<std::string> abandon;  ///< our claim entries: stop their jobs at once
    bool fill = false;                 ///< jobs came back into the lanes
    bool log = false;                  ///< say how many came back / died
  };

  explicit LeaseKeeper(Options opts);

  /// The consumer group is ready: both run now, then periodically.
  Work start(Clock::time_point now);
  /// What is due at `now` (nothing before start()); schedules the next of each.
  Work tick(Clock::time_point now);
  /// When tick() has something to do next (after start()).
  Clock::time_point next_due() const;
  /// The worker stops: no more promotion; leases go on.
  void stop();

  /// The lease script's answer (`ok` false: Redis failed; the next tick tries again).
  LeaseVerdict on_lease(Clock::time_point now, bool ok, std::vector<std::string> lost,
                        std::size_t reclaimed, std::size_t dead);
  /// The promotion's answer: true when jobs came back into the lanes (fill).
  bool on_promote(bool ok, std::size_t promoted) const;

  std::chrono::milliseconds lease_every() const { return lease_every_; }
  /// A claim idle this long belongs to a worker that stopped renewing.
  std::chrono::milliseconds min_idle() const { return opts_.visibility_timeout; }
  std::size_t reclaim_batch() const { return opts_.reclaim_batch; }
  std::size_t promote_batch() const { return opts_.promote_batch; }
  bool started() const { return started_; }
  bool stopped() const { return stopped_; }
  /// Leases answered ok so far, and when the last one was (for tests and metrics).
  std::size_t renewals() const { return renewals_; }
  Clock::time_point last_renewal() const { return last_renewal_; }

 private:
  Options opts_;
  std::chrono::milliseconds lease_every_;
  Clock::time_point next_lease_{};
  Clock::time_point next_promote_{};
  Clock::time_point last_renewal_{};
  std::size_t renewals_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace iamq::worker
