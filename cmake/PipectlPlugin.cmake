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

# pipectl_add_doctest(<name> SOURCES <files…> [LIBRARIES <targets…>])
# One doctest executable; each TEST_CASE becomes a CTest test.
function(pipectl_add_doctest name)
  cmake_parse_arguments(ARG "" "WORKING_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE doctest::doctest ${ARG_LIBRARIES})
  if(NOT ARG_WORKING_DIRECTORY)
    set(ARG_WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  doctest_discover_tests(${name} WORKING_DIRECTORY ${ARG_WORKING_DIRECTORY}
    PROPERTIES ENVIRONMENT "PIPECTL_SOURCE_DIR=${CMAKE_SOURCE_DIR};PIPECTL_BUILD_DIR=${CMAKE_BINARY_DIR}")
endfunction()
