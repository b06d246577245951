# runtime.cmake: the round engine, the transports and the node main(), and
# libpsync_runtime.a, which a compiled protocol object links against.
# Included from runtime/CMakeLists.txt (which defines psync_abi).

set(PSYNC_RT ${CMAKE_CURRENT_SOURCE_DIR})

# engine/: one instance's rounds over the ABI. No sockets, no clock.
add_library(psync_engine OBJECT ${PSYNC_RT}/engine/engine.cpp)
target_include_directories(psync_engine PUBLIC ${PSYNC_RT})
target_link_libraries(psync_engine PUBLIC psync_abi PRIVATE psync_warnings)
set_target_properties(psync_engine PROPERTIES POSITION_INDEPENDENT_CODE ON)

# testing/: the hand-written OneThirdRule (tests and bench baseline).
add_library(psync_testing_otr OBJECT ${PSYNC_RT}/testing/one_third_rule.cpp)
target_include_directories(psync_testing_otr PUBLIC ${PSYNC_RT})
target_link_libraries(psync_testing_otr PUBLIC psync_abi PRIVATE psync_warnings)
