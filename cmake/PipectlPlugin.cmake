# pipectl_add_plugin(<name> SOURCES <files…> [LIBRARIES <targets…>] [OUTPUT_DIRECTORY dir] [NO_INSTALL])
#
# Builds a pipectl stage plugin: a MODULE library named pipectl_<name>.so,
# hidden visibility (only the descriptor is exported), linked to the core,
# placed in the plugin folder of the build tree (or of the project that
# calls it), and installed beside the others.
function(pipectl_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  set(target pipectl_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  if(TARGET pipectl::core)
    target_link_libraries(${target} PRIVATE pipectl::core ${ARG_LIBRARIES})
  else()
    target_link_libraries(${target} PRIVATE pipectl_core ${ARG_LIBRARIES})
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  elseif(DEFINED PIPECTL_BUILD_PLUGIN_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PIPECTL_BUILD_PLUGIN_DIR})
  endif()
  if(DEFINED PIPECTL_INSTALL_PLUGIN_DIR AND NOT ARG_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${PIPECTL_INSTALL_PLUGIN_DIR})
  endif()
  if(TARGET pipectl_plugins)
    add_dependencies(pipectl_plugins ${target})
  endif()
endfunction()

# pipectl_add_doctest(<name> SOURCES <files…> [LIBRARIES <targets…>] [WORKING_DIRECTORY dir]
#                     [LABELS <labels…>] [PROPERTIES <name value>…])
# One doctest executable; each TEST_CASE becomes a CTest test with
#   - SKIP_REGULAR_EXPRESSION "pipectl-test: SKIPPED": a test case that calls
#     pipectl::testing::skip() (pipectl/test_skip.hpp) is reported skipped;
#   - LABELS: the given ones, else from the folder: `unit` for plugins/<name>/,
#     `core` for core/, <area> for tests/<area>/ (CTest -L selects them; the
#     sanitizer run, CMakePresets.json, picks unit, core, cli, hostile, fuzz);
#   - ENVIRONMENT PIPECTL_SOURCE_DIR=<the source tree>;
#   - any further PROPERTIES (no value may contain a ';': doctest's discovery
#     splits lists).
function(pipectl_test_label out)
  file(RELATIVE_PATH _rel ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  if(_rel MATCHES "^plugins/")
    set(_l unit)
  elseif(_rel MATCHES "^tests/([^/]+)")
    set(_l ${CMAKE_MATCH_1})
  elseif(_rel MATCHES "^([^/]+)")
    set(_l ${CMAKE_MATCH_1})
  else()
    set(_l tests)
  endif()
  set(${out} ${_l} PARENT_SCOPE)
endfunction()

# pipectl_test_wanted(<label> <out>): TRUE unless PIPECTL_TEST_LABELS (a
# list of labels, or "all", the default) leaves the label out; a test program
# whose label is not wanted is neither built by default nor registered (the
# sanitizer preset builds only what its run needs).
function(pipectl_test_wanted label out)
  if(NOT DEFINED PIPECTL_TEST_LABELS OR PIPECTL_TEST_LABELS STREQUAL "all" OR label IN_LIST PIPECTL_TEST_LABELS)
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

function(pipectl_add_doctest name)
  cmake_parse_arguments(ARG "" "WORKING_DIRECTORY" "SOURCES;LIBRARIES;LABELS;PROPERTIES" ${ARGN})
  if(NOT ARG_LABELS)
    pipectl_test_label(ARG_LABELS)
  endif()
  pipectl_test_wanted(${ARG_LABELS} _wanted)
  if(NOT _wanted)
    # Not built by default nor registered; the target exists, so the caller's
    # target_* calls on it still work.
    add_executable(${name} EXCLUDE_FROM_ALL ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE doctest::doctest ${ARG_LIBRARIES})
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE doctest::doctest ${ARG_LIBRARIES})
  # <pipectl/test_skip.hpp> (header only) for every test program.
  foreach(_core pipectl_core pipectl::core)
    if(TARGET ${_core})
      target_include_directories(${name} PRIVATE $<TARGET_PROPERTY:${_core},INTERFACE_INCLUDE_DIRECTORIES>)
      break()
    endif()
  endforeach()
  if(NOT ARG_WORKING_DIRECTORY)
    set(ARG_WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  doctest_discover_tests(${name} WORKING_DIRECTORY ${ARG_WORKING_DIRECTORY}
    PROPERTIES SKIP_REGULAR_EXPRESSION "pipectl-test: SKIPPED"
               ENVIRONMENT "PIPECTL_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
               ${ARG_PROPERTIES}
               LABELS ${ARG_LABELS})
endfunction()
