# Installation: headers, static libraries and a CMake package, so that users write
#   find_package(sessionkit REQUIRED COMPONENTS core sqlite)   # or no COMPONENTS: all of them
#   target_link_libraries(app PRIVATE sessionkit::core sessionkit::sqlite)
#   target_link_libraries(my_store_test PRIVATE sessionkit::store_conformance GTest::gtest_main)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Two header-only targets for people writing a store (docs/stores.md, "Writing a store"):
#   sessionkit::reference          include/sessionkit/stores/reference.h, the reference store
#   sessionkit::store_conformance  include/sessionkit/testing/store_conformance.h, the suite;
#                                  GoogleTest is NOT part of it: link GTest::gtest(_main) yourself
# Installed headers only (sessionkit::core); nothing under src/ or tests/.
add_library(sessionkit_reference INTERFACE)
add_library(sessionkit::reference ALIAS sessionkit_reference)
set_target_properties(sessionkit_reference PROPERTIES EXPORT_NAME reference)
target_sources(sessionkit_reference INTERFACE
  FILE_SET HEADERS BASE_DIRS ${PROJECT_SOURCE_DIR}/include
  FILES ${PROJECT_SOURCE_DIR}/include/sessionkit/stores/reference.h)
target_link_libraries(sessionkit_reference INTERFACE sessionkit::core)

add_library(sessionkit_store_conformance INTERFACE)
add_library(sessionkit::store_conformance ALIAS sessionkit_store_conformance)
set_target_properties(sessionkit_store_conformance PROPERTIES EXPORT_NAME store_conformance)
target_sources(sessionkit_store_conformance INTERFACE
  FILE_SET HEADERS BASE_DIRS ${PROJECT_SOURCE_DIR}/include
  FILES ${PROJECT_SOURCE_DIR}/include/sessionkit/testing/store_conformance.h)
target_link_libraries(sessionkit_store_conformance INTERFACE sessionkit::core)

# Components (find_package(sessionkit REQUIRED COMPONENTS core sqlite)): one export set and one
# targets file per component, so that a consumer loads, and looks for the dependencies of, only
# the components it names. cmake/sessionkitConfig.cmake.in lists each component's dependencies.
#   core       sessionkit::core, ::memory, ::reference, ::store_conformance  (libsodium, OpenSSL,
#              nlohmann-json, spdlog, Threads)
#   sqlite     sessionkit::sqlite      (SQLite3)
#   redis      sessionkit::redis       (hiredis, Boost, OpenSSL)
#   postgres   sessionkit::postgres    (libpq)
#   beast      sessionkit::beast       (Boost)
#   httplib    sessionkit::httplib     (cpp-httplib)
#   store_url  sessionkit::store_url   (every store component this build has)
set(sessionkit_components "")
function(sessionkit_install_component name)
  install(TARGETS ${ARGN}
    EXPORT sessionkit-${name}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT sessionkit-${name}
    NAMESPACE sessionkit::
    FILE sessionkit-${name}-targets.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sessionkit)
  set(sessionkit_components ${sessionkit_components} ${name} PARENT_SCOPE)
endfunction()

sessionkit_install_component(core sessionkit_core sessionkit_memory sessionkit_reference
  sessionkit_store_conformance)
foreach(component sqlite redis postgres beast httplib store_url)
  if(TARGET sessionkit_${component})
    sessionkit_install_component(${component} sessionkit_${component})
  endif()
endforeach()

# The store components that sessionkit::store_url links (it opens any of them from a URL).
set(SESSIONKIT_CONFIG_URL_STORES "")
foreach(component sqlite redis postgres)
  if(TARGET sessionkit_${component})
    list(APPEND SESSIONKIT_CONFIG_URL_STORES ${component})
  endif()
endforeach()
set(SESSIONKIT_CONFIG_COMPONENTS "${sessionkit_components}")
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/sessionkitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/sessionkitConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sessionkit)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sessionkitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sessionkitConfig.cmake
              ${PROJECT_BINARY_DIR}/sessionkitConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sessionkit)
