# The emulator's request handling (sans-io core + the project's signer and Query decoder).
iamq_fuzz_target(fuzz_emulator_request fuzz_emulator_request.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/iam_state.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/iam_actions.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/iam_action_support.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/iam_actions_users.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/iam_actions_policies.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/iam_actions_groups.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/iam_unimplemented.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/faults.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/sts_actions.cpp
  ${IAMQ_ROOT}/tests/iam_emulator/emulator.cpp
  ${IAMQ_ROOT}/client/signer.cpp
  ${IAMQ_ROOT}/client/credentials.cpp
  ${IAMQ_ROOT}/client/query_encoder.cpp)
