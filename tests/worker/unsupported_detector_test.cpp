// worker/unsupported_detector.hpp: when a List* answer counts as "not implemented by this
// endpoint", and every case where it must not.
#include "worker/unsupported_detector.hpp"

#include <gtest/gtest.h>

namespace iamq::worker {
namespace {

using client::ErrorClass;
using client::Outcome;

Outcome ok() {
  Outcome o;
  o.ok = client::IamResult{};
  return o;
}

Outcome error(int status, std::string code, ErrorClass cls) {
  Outcome o;
  client::IamError e;
  e.http_status = status;
  e.code = std::move(code);
  e.error_class = cls;
  o.error = e;
  return o;
}

Outcome bare_500() { return error(500, "NonXmlResponse", ErrorClass::transient); }
Outcome html_503() { return error(503, "UnexpectedResponse", ErrorClass::transient); }
Outcome no_such_entity() { return error(404, "NoSuchEntity", ErrorClass::absent); }
Outcome service_failure() { return error(500, "ServiceFailure", ErrorClass::transient); }
Outcome timeout() { return error(0, "Timeout", ErrorClass::transient); }

/// Feeds one answer; returns whether it came out unsupported (and checks the class agrees).
bool feed(UnsupportedDetector& d, std::string_view action, Outcome o) {
  const auto v = d.observe(action, o);
  if (v.unsupported) {
    EXPECT_TRUE(o.error && o.error->error_class == ErrorClass::unsupported);
  }
  return v.unsupported;
}

TEST(UnsupportedDetector, ThreeBare500sWhileAnotherActionAnswersAreUnsupported) {
  UnsupportedDetector d;
  EXPECT_FALSE(feed(d, "GetUser", ok()));
  EXPECT_FALSE(feed(d, "ListServiceSpecificCredentials", bare_500()));
  EXPECT_FALSE(feed(d, "ListServiceSpecificCredentials", bare_500()));
  Outcome third = bare_500();
  const auto v = d.observe("ListServiceSpecificCredentials", third);
  EXPECT_TRUE(v.unsupported);
  EXPECT_TRUE(v.first);
  EXPECT_EQ(third.error->error_class, ErrorClass::unsupported);
  EXPECT_EQ(third.error->code, "NonXmlResponse");  // the code stays what the endpoint sent
  EXPECT_TRUE(d.judged_unsupported("ListServiceSpecificCredentials"));
}

TEST(UnsupportedDetector, InterleavedWithOtherJobsCallsToo) {
  UnsupportedDetector d;
  EXPECT_FALSE(feed(d, "ListSSHPublicKeys", bare_500()));  // nothing vouched yet
  EXPECT_FALSE(feed(d, "GetUser", ok()));
  EXPECT_FALSE(feed(d, "ListSSHPublicKeys", html_503()));
  EXPECT_FALSE(feed(d, "DeleteAccessKey", no_such_entity()));  // an IAM answer vouches as well
  EXPECT_TRUE(feed(d, "ListSSHPublicKeys", bare_500()));
}

TEST(UnsupportedDetector, ASingleOrTwo5xxNeverCount) {
  UnsupportedDetector d;
  for (int round = 0; round < 10; ++round) {
    EXPECT_FALSE(feed(d, "GetUser", ok()));
    EXPECT_FALSE(feed(d, "ListAccessKeys", bare_500()));
    EXPECT_FALSE(feed(d, "ListAccessKeys", bare_500()));
    EXPECT_FALSE(feed(d, "ListAccessKeys", ok()));  // the third try worked: it is implemented
  }
  EXPECT_FALSE(d.judged_unsupported("ListAccessKeys"));
}

TEST(UnsupportedDetector, AnEndpointFailingEverythingIsNotUnsupported) {
  UnsupportedDetector d;
  EXPECT_FALSE(feed(d, "GetUser", ok()));
  // A load balancer's 503 page for every action: other actions fail in between.
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(feed(d, "ListAccessKeys", html_503())) << i;
    EXPECT_FALSE(feed(d, "ListMFADevices", html_503())) << i;
    EXPECT_FALSE(feed(d, "DeleteUser", html_503())) << i;
  }
  // Nothing answered before the streak began either.
  UnsupportedDetector fresh;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(feed(fresh, "ListAccessKeys", bare_500())) << i;
}

TEST(UnsupportedDetector, TroubleInBetweenStartsTheCountAgain) {
  for (Outcome trouble : {timeout(), service_failure(), error(429, "Throttling", ErrorClass::throttled)}) {
    UnsupportedDetector d;
    EXPECT_FALSE(feed(d, "GetUser", ok()));
    EXPECT_FALSE(feed(d, "ListGroupsForUser", bare_500()));
    EXPECT_FALSE(feed(d, "ListGroupsForUser", bare_500()));
    EXPECT_FALSE(feed(d, "GetUser", trouble));
    EXPECT_FALSE(feed(d, "ListGroupsForUser", bare_500()));  // count starts again, unvouched
    EXPECT_FALSE(feed(d, "GetUser", ok()));
    EXPECT_FALSE(feed(d, "ListGroupsForUser", bare_500()));
    EXPECT_TRUE(feed(d, "ListGroupsForUser", bare_500()));  // 3 since, vouched by GetUser
  }
}

TEST(UnsupportedDetector, MutatingAndGetActionsAreNeverJudgedOnBare5xx) {
  UnsupportedDetector d;
  EXPECT_FALSE(feed(d, "ListUsers", ok()));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(feed(d, "DeleteSSHPublicKey", bare_500()));
  EXPECT_FALSE(feed(d, "ListUsers", ok()));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(feed(d, "GetLoginProfile", bare_500()));
}

TEST(UnsupportedDetector, ClassifiedAnswersAreUnsupportedAtOnceAndReportedOnce) {
  UnsupportedDetector d;
  Outcome a = error(501, "NotImplemented", ErrorClass::unsupported);
  auto v1 = d.observe("ListServiceSpecificCredentials", a);
  EXPECT_TRUE(v1.unsupported);
  EXPECT_TRUE(v1.first);
  Outcome b = error(501, "NotImplemented", ErrorClass::unsupported);
  auto v2 = d.observe("ListServiceSpecificCredentials", b);
  EXPECT_TRUE(v2.unsupported);
  EXPECT_FALSE(v2.first);
  // A mutating action answered 501 is unsupported too (the planner fails the job with it).
  Outcome c = error(400, "InvalidAction", ErrorClass::unsupported);
  EXPECT_TRUE(d.observe("DeleteUser", c).first);
}

TEST(UnsupportedDetector, AJudgementHoldsUntilTheActionAnswers) {
  UnsupportedDetector d;
  EXPECT_FALSE(feed(d, "GetUser", ok()));
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(feed(d, "ListSigningCertificates", bare_500()));
  Outcome o = bare_500();
  EXPECT_TRUE(d.observe("ListSigningCertificates", o).first);
  // Later jobs: the first bare 5xx is enough now, and it is not reported again.
  Outcome again = bare_500();
  const auto v = d.observe("ListSigningCertificates", again);
  EXPECT_TRUE(v.unsupported);
  EXPECT_FALSE(v.first);
  // The endpoint was upgraded: it answers, and the judgement is gone.
  EXPECT_FALSE(feed(d, "ListSigningCertificates", ok()));
  EXPECT_FALSE(d.judged_unsupported("ListSigningCertificates"));
  EXPECT_FALSE(feed(d, "ListSigningCertificates", bare_500()));
}

TEST(UnsupportedDetector, AJobAloneMeetsSeveralUnimplementedListsOneAfterTheOther) {
  UnsupportedDetector d;
  EXPECT_FALSE(feed(d, "DeleteAccessKey", ok()));
  EXPECT_TRUE(feed(d, "ListSigningCertificates", error(501, "InternalFailure", ErrorClass::unsupported)));
  for (const char* action : {"ListSSHPublicKeys", "ListServiceSpecificCredentials"}) {
    EXPECT_FALSE(feed(d, action, html_503())) << action;
    EXPECT_FALSE(feed(d, action, bare_500())) << action;
    EXPECT_TRUE(feed(d, action, bare_500())) << action;  // vouched by DeleteAccessKey
  }
}

}  // namespace
}  // namespace iamq::worker
