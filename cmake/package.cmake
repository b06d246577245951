# package.cmake: what `cmake --install` adds for downstream CMake projects
# (find_package(psync CONFIG REQUIRED), README "Using psync from C++") and the
# .deb that CPack builds from the same install rules (`cpack -G DEB`).
include(CMakePackageConfigHelpers)

set(PSYNC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/psync)

# psync::abi, psync::node, psync::replica and psync::psyncc, as installed.
install(EXPORT psyncTargets NAMESPACE psync:: DESTINATION ${PSYNC_CMAKE_DIR} FILE psyncTargets.cmake)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/psyncConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/psyncConfig.cmake INSTALL_DESTINATION ${PSYNC_CMAKE_DIR})
# 0.x: only the same minor version promises the same ABI (docs/abi.md).
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/psyncConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/psyncConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/psyncConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/psyncProtocol.cmake
        DESTINATION ${PSYNC_CMAKE_DIR})

# The .deb: everything above under /usr. Applications link the archives with
# libsodium and build against Boost.Asio, hence the -dev dependencies; the
# shared libraries psyncc itself needs are found by dpkg-shlibdeps.
set(CPACK_PACKAGE_NAME psync)
set(CPACK_PACKAGE_VENDOR "the psync authors")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "psync: a round-based language for fault-tolerant distributed algorithms")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_INSTALL_DIRECTORY psync)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "psync maintainers <psync@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libsodium-dev, libboost-dev (>= 1.74), g++ | c++-compiler")
include(CPack)
