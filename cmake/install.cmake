# Installation: headers, static libraries and a CMake package, so that users write
#   find_package(sessionkit REQUIRED)
#   target_link_libraries(app PRIVATE sessionkit::core sessionkit::sqlite)  # or sessionkit::postgres
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(sessionkit_exported sessionkit_core sessionkit_memory)
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
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/sessionkitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/sessionkitConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sessionkit)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sessionkitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sessionkitConfig.cmake
              ${PROJECT_BINARY_DIR}/sessionkitConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sessionkit)
