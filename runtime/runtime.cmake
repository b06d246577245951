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
add_library(psync_node OBJECT ${PSYNC_RT}/node/config.cpp ${PSYNC_RT}/node/node.cpp ${PSYNC_RT}/node/learning.cpp
            ${PSYNC_RT}/node/serve.cpp ${PSYNC_RT}/node/lie.cpp)
target_include_directories(psync_node PUBLIC ${PSYNC_RT})
target_link_libraries(psync_node PUBLIC psync_abi psync_validate psync_util psync_auth psync_store Boost::headers CLI11::CLI11
                      PRIVATE psync_warnings)

# replica/ and service/: a replicated log over a compiled protocol inside an
# application's io_context (include/psync/replica.hpp), and its JSON-lines
# service (docs/service.md), which every node offers with --serve.
find_package(nlohmann_json 3 REQUIRED)
add_library(psync_replica_objs OBJECT ${PSYNC_RT}/replica/batch.cpp ${PSYNC_RT}/replica/replica.cpp
            ${PSYNC_RT}/service/service.cpp)
target_include_directories(psync_replica_objs PUBLIC ${PSYNC_RT})
target_link_libraries(psync_replica_objs PUBLIC psync_abi Boost::headers CLI11::CLI11
                      PRIVATE nlohmann_json::nlohmann_json psync_warnings)
set_target_properties(psync_replica_objs PROPERTIES POSITION_INDEPENDENT_CODE ON)

find_package(Threads REQUIRED)

# libpsync_runtime.a: main() + node + store + net + engine + validate + the
# replica and its service. A compiled protocol links as:
#   c++ proto.o libpsync_runtime.a -lsodium -lpthread -o proto   (runtime/README.md)
set(PSYNC_RUNTIME_OBJECTS
  $<TARGET_OBJECTS:psync_round> $<TARGET_OBJECTS:psync_engine> $<TARGET_OBJECTS:psync_auth> $<TARGET_OBJECTS:psync_net>
  $<TARGET_OBJECTS:psync_store> $<TARGET_OBJECTS:psync_node> $<TARGET_OBJECTS:psync_validate>
  $<TARGET_OBJECTS:psync_util> $<TARGET_OBJECTS:psync_replica_objs>)
# Both archives are installed and exported (cmake/package.cmake): what only
# their own compilation needs is wrapped in BUILD_INTERFACE.
add_library(psync_runtime STATIC ${PSYNC_RT}/node/main.cpp ${PSYNC_RUNTIME_OBJECTS})
target_include_directories(psync_runtime PUBLIC $<BUILD_INTERFACE:${PSYNC_RT}>)
target_link_libraries(psync_runtime PUBLIC psync_abi Threads::Threads PkgConfig::SODIUM
                      PRIVATE $<BUILD_INTERFACE:Boost::headers> $<BUILD_INTERFACE:CLI11::CLI11>
                              $<BUILD_INTERFACE:psync_warnings>)
set_target_properties(psync_runtime PROPERTIES EXPORT_NAME node)

# libpsync_replica.a: the same without main(), for applications that embed a
# replica (psync/replica.hpp) in their own program: link it with the
# protocol object (psync_add_protocol, cmake/psyncConfig.cmake).
add_library(psync_replica STATIC ${PSYNC_RUNTIME_OBJECTS})
target_include_directories(psync_replica PUBLIC $<BUILD_INTERFACE:${PSYNC_RT}>)
target_link_libraries(psync_replica PUBLIC psync_abi Threads::Threads PkgConfig::SODIUM Boost::headers
                      PRIVATE $<BUILD_INTERFACE:psync_warnings>)
set_target_properties(psync_replica PROPERTIES EXPORT_NAME replica)
