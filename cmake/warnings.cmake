# One interface target carries the project's warnings and, when asked, the sanitizers.
# Every target of the project links iamq::warnings.
add_library(iamq_warnings INTERFACE)
add_library(iamq::warnings ALIAS iamq_warnings)
target_compile_features(iamq_warnings INTERFACE cxx_std_20)
target_compile_options(iamq_warnings INTERFACE -Wall -Wextra -Wpedantic)
if(DEFINED ENV{CI} AND NOT "$ENV{CI}" STREQUAL "" AND NOT "$ENV{CI}" STREQUAL "false")
  target_compile_options(iamq_warnings INTERFACE -Werror)
endif()
if(IAMQ_SANITIZE)
  target_compile_options(iamq_warnings INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
    # GCC's flow analysis under -fsanitize at -O2 reports false "may be used uninitialized"
    # inside Boost.Beast's parser (boost::optional<size_t>); the sanitizers check this for real.
    -Wno-maybe-uninitialized)
  target_link_options(iamq_warnings INTERFACE -fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
