# psyncProtocol.cmake: psync_add_protocol, part of the installed package.
#
#   psync_add_protocol(<target> <file.psync> [PSYNCC_ARGS <arg>...])
#
# Compiles the protocol with psync::psyncc (`--emit obj`) into an object
# library <target>. Link it next to psync::node (the standard replica main)
# or psync::replica (the embedding API, psync/replica.hpp):
#
#   psync_add_protocol(paxos_proto paxos.psync)
#   add_executable(paxos_node)
#   target_link_libraries(paxos_node PRIVATE paxos_proto psync::node)
#
# PSYNCC_ARGS go to psyncc before the file (e.g. -O3, --target ..., -I dir).
# The object is rebuilt when the file or a module it imports changes
# (psyncc writes them to a depfile, `psyncc build --depfile`) or psyncc does.
function(psync_add_protocol target file)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "PSYNCC_ARGS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "psync_add_protocol(${target} ${file}): unexpected arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET psync::psyncc)
    message(FATAL_ERROR "psync_add_protocol: psync::psyncc is not defined (find_package(psync CONFIG REQUIRED) first)")
  endif()
  get_filename_component(source ${file} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  set(object ${CMAKE_CURRENT_BINARY_DIR}/psync_protocols/${target}.o)
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/psync_protocols
    COMMAND psync::psyncc build --emit obj ${arg_PSYNCC_ARGS} ${source} -o ${object} --depfile ${object}.d
    DEPENDS ${source} psync::psyncc
    DEPFILE ${object}.d
    COMMENT "psyncc: compiling ${file}"
    VERBATIM)
  # An imported object library: consumers link the object itself. The
  # custom target gives the object's rule a home in this directory (Ninja
  # builds it before any link that lists it).
  add_custom_target(${target}_psyncc ALL DEPENDS ${object})
  add_library(${target} OBJECT IMPORTED)
  set_target_properties(${target} PROPERTIES IMPORTED_OBJECTS ${object})
  # The object holds the descriptor and its functions only: the runtime's
  # symbols come from psync::node or psync::replica, which the consumer
  # links. The ABI header comes along for code that reads the descriptor.
  target_link_libraries(${target} INTERFACE psync::abi)
endfunction()
