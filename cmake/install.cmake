# Installation: headers, static libraries and a CMake package, so that users write
#   find_package(sessionkit REQUIRED)
#   target_link_libraries(app PRIVATE sessionkit::core sessionkit::sqlite)  # or sessionkit::postgres
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

set(sessionkit_exported sessionkit_core sessionkit_memory sessionkit_reference
  sessionkit_store_conformance)
if(SESSIONKIT_WITH_SQLITE)
  list(APPEND sessionkit_exported sessionkit_sqlite)
endif()
if(TARGET sessionkit_redis)
  list(APPEND sessionkit_exported sessionkit_redis)
endif()
if(SESSIONKIT_WITH_POSTGRES)
  list(APPEND sessionkit_exported sessionkit_postgres)
endif()
if(TARGET sessionkit_beast)
  list(APPEND sessionkit_exported sessionkit_beast)
endif()
if(TARGET sessionkit_httplib)
  list(APPEND sessionkit_exported sessionkit_httplib)
endif()

install(TARGETS ${sessionkit_exported}
  EXPORT sessionkitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT sessionkitTargets
  NAMESPACE sessionkit::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sessionkit)

set(SESSIONKIT_CONFIG_WITH_SQLITE ${SESSIONKIT_WITH_SQLITE})
if(TARGET sessionkit_redis)
  set(SESSIONKIT_CONFIG_WITH_REDIS ON)
else()
  set(SESSIONKIT_CONFIG_WITH_REDIS OFF)
endif()
set(SESSIONKIT_CONFIG_WITH_POSTGRES ${SESSIONKIT_WITH_POSTGRES})
if(TARGET sessionkit_beast)
  set(SESSIONKIT_CONFIG_WITH_BEAST ON)
else()
  set(SESSIONKIT_CONFIG_WITH_BEAST OFF)
endif()
if(TARGET sessionkit_httplib)
  set(SESSIONKIT_CONFIG_WITH_HTTPLIB ON)
else()
  set(SESSIONKIT_CONFIG_WITH_HTTPLIB OFF)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/sessionkitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/sessionkitConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sessionkit)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sessionkitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sessionkitConfig.cmake
              ${PROJECT_BINARY_DIR}/sessionkitConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sessionkit)
