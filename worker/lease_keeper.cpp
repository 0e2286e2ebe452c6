#include "worker/lease_keeper.hpp"

#include <algorithm>
#include <utility>

namespace iamq::worker {

LeaseKeeper::LeaseKeeper(Options opts)
    : opts_(opts),
      lease_every_(std::max(std::chrono::milliseconds(500), opts.visibility_timeout / 3)) {}

LeaseKeeper::Work LeaseKeeper::start(Clock::time_point now) {
  started_ = true;
  next_lease_ = now + lease_every_;
  next_promote_ = now + opts_.promote_every;
  Work w;
  w.lease = true;
  w.promote = !stopped_;
  return w;
}

LeaseKeeper::Work LeaseKeeper::tick(Clock::time_point now) {
  Work w;
  if (!started_) return w;
  if (now >= next_lease_) {
    w.lease = true;
    next_lease_ = now + lease_every_;
  }
  if (!stopped_ && now >= next_promote_) {
    w.promote = true;
    next_promote_ = now + opts_.promote_every;
  }
  return w;
}

LeaseKeeper::Clock::time_point LeaseKeeper::next_due() const {
  return stopped_ ? next_lease_ : std::min(next_lease_, next_promote_);
}

void LeaseKeeper::stop() { stopped_ = true; }

LeaseKeeper::LeaseVerdict LeaseKeeper::on_lease(Clock::time_point now, bool ok,
                                                std::vector<std::string> lost,
                                                std::size_t reclaimed, std::size_t dead) {
  LeaseVerdict v;
  if (!ok) return v;  // nothing known: the claims are renewed again at the next tick
  ++renewals_;
  last_renewal_ = now;
  v.abandon = std::move(lost);
  v.log = reclaimed > 0 || dead > 0;
  v.fill = v.log;
  return v;
}

bool LeaseKeeper::on_promote(bool ok, std::size_t promoted) const {
  return ok && promoted > 0 && !stopped_;
}

}  // namespace iamq::worker
