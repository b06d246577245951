# runtime.cmake: the round engine, the transports and the node main(), and
# libpsync_runtime.a, which a compiled protocol object links against.
# Included from runtime/CMakeLists.txt (which defines psync_abi).

set(PSYNC_RT ${CMAKE_CURRENT_SOURCE_DIR})

# round/: how one process executes one round, the rule set that the node,
# the explorer, the simulator and the tests share. No I/O.
add_library(psync_round OBJECT ${PSYNC_RT}/round/round.cpp)
target_include_directories(psync_round PUBLIC ${PSYNC_RT})
target_link_libraries(psync_round PUBLIC psync_abi PRIVATE psync_warnings)
set_target_properties(psync_round PROPERTIES POSITION_INDEPENDENT_CODE ON)

# engine/: one instance's rounds over the ABI. No sockets, no clock.
add_library(psync_engine OBJECT ${PSYNC_RT}/engine/engine.cpp)
target_include_directories(psync_engine PUBLIC ${PSYNC_RT})
target_link_libraries(psync_engine PUBLIC psync_abi PRIVATE psync_warnings)
set_target_properties(psync_engine PROPERTIES POSITION_INDEPENDENT_CODE ON)

# util/: command-line values (durations, ranged integers), shared with psyncc
# so that both read `2min` the same way.
add_library(psync_util OBJECT ${PSYNC_RT}/util/cmdline.cpp)
target_include_directories(psync_util PUBLIC ${PSYNC_RT})
target_link_libraries(psync_util PRIVATE psync_warnings)
set_target_properties(psync_util PROPERTIES POSITION_INDEPENDENT_CODE ON)

# net/auth: key pairs, key files, channel keys and MACs on libsodium. Its
# own library because psyncc (keygen) and the launcher (keys for psyncc run)
# use it too.
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
add_library(psync_auth OBJECT ${PSYNC_RT}/net/auth.cpp)
target_include_directories(psync_auth PUBLIC ${PSYNC_RT})
target_link_libraries(psync_auth PUBLIC PkgConfig::SODIUM PRIVATE psync_warnings)
set_target_properties(psync_auth PROPERTIES POSITION_INDEPENDENT_CODE ON)

# net/: wire format, the authenticated session, and the Asio UDP and TCP
# transports.
add_library(psync_net OBJECT ${PSYNC_RT}/net/wire.cpp ${PSYNC_RT}/net/session.cpp ${PSYNC_RT}/net/transport.cpp
            ${PSYNC_RT}/net/udp.cpp ${PSYNC_RT}/net/tcp.cpp)
target_include_directories(psync_net PUBLIC ${PSYNC_RT})
target_link_libraries(psync_net PUBLIC Boost::headers psync_auth PRIVATE psync_warnings)

# store/: the --data-dir log (records, group commit, recovery). No sockets.
add_library(psync_store OBJECT ${PSYNC_RT}/store/log.cpp)
target_include_directories(psync_store PUBLIC ${PSYNC_RT})
target_link_libraries(psync_store PRIVATE psync_warnings)
set_target_properties(psync_store PROPERTIES POSITION_INDEPENDENT_CODE ON)

# node/: configuration, the replica process, learning decisions; main.cpp is
# only in the archive. toml++ is used header-only (its pkg-config asks for a
# shared library that Debian does not ship), so that the archive needs
# nothing beyond libstdc++ and libsodium.
add_library(psync_node OBJECT ${PSYNC_RT}/node/config.cpp ${PSYNC_RT}/node/node.cpp ${PSYNC_RT}/node/learning.cpp)
target_include_directories(psync_node PUBLIC ${PSYNC_RT})
target_link_libraries(psync_node PUBLIC psync_abi psync_validate psync_util psync_auth psync_store Boost::headers CLI11::CLI11
                      PRIVATE psync_warnings)

find_package(Threads REQUIRED)

# libpsync_runtime.a: main() + node + store + net + engine + validate. A compiled
# protocol links as:  c++ proto.o libpsync_runtime.a -lsodium -lpthread -o proto   (runtime/README.md)
add_library(psync_runtime STATIC
  ${PSYNC_RT}/node/main.cpp
  $<TARGET_OBJECTS:psync_round> $<TARGET_OBJECTS:psync_engine> $<TARGET_OBJECTS:psync_auth> $<TARGET_OBJECTS:psync_net>
  $<TARGET_OBJECTS:psync_store> $<TARGET_OBJECTS:psync_node> $<TARGET_OBJECTS:psync_validate> $<TARGET_OBJECTS:psync_util>)
target_include_directories(psync_runtime PUBLIC ${PSYNC_RT})
target_link_libraries(psync_runtime PUBLIC psync_abi Threads::Threads PkgConfig::SODIUM PRIVATE Boost::headers CLI11::CLI11 psync_warnings)
