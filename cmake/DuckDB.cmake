# Finds DuckDB 1.4 (C API): -DDUCKDB_ROOT=<dir with include/duckdb.h and lib/libduckdb.so>, or
# else fetches the official prebuilt library and its header from the npm registry at pinned
# versions, checking each tarball's SHA-256, into the build tree (never into git).
# Defines the imported target duckdb::duckdb.

set(LAKEPACK_DUCKDB_LIB_URL
    "https://registry.npmjs.org/@duckdb/node-bindings-linux-x64/-/node-bindings-linux-x64-1.4.4-r.4.tgz")
set(LAKEPACK_DUCKDB_LIB_SHA256 "732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b")
set(LAKEPACK_DUCKDB_HDR_URL "https://registry.npmjs.org/duckdb/-/duckdb-1.4.4.tgz")
set(LAKEPACK_DUCKDB_HDR_SHA256 "5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed")

if(DUCKDB_ROOT)
  find_path(DUCKDB_INCLUDE_DIR duckdb.h PATHS "${DUCKDB_ROOT}/include" "${DUCKDB_ROOT}"
            NO_DEFAULT_PATH REQUIRED)
  find_library(DUCKDB_LIBRARY duckdb PATHS "${DUCKDB_ROOT}/lib" "${DUCKDB_ROOT}" NO_DEFAULT_PATH
               REQUIRED)
else()
  set(_dd "${CMAKE_BINARY_DIR}/_deps/duckdb")
  # A download cache outside the build tree lets clean builds skip the network.
  if(DEFINED ENV{LAKEPACK_CACHE})
    set(_cache "$ENV{LAKEPACK_CACHE}")
  else()
    set(_cache "$ENV{HOME}/.cache/lakepack")
  endif()
  file(MAKE_DIRECTORY "${_dd}/include" "${_dd}/lib" "${_cache}")
  foreach(_part LIB HDR)
    get_filename_component(_name "${LAKEPACK_DUCKDB_${_part}_URL}" NAME)
    set(_tgz "${_cache}/${_name}")
    if(EXISTS "${_tgz}")
      file(SHA256 "${_tgz}" _have)
      if(NOT _have STREQUAL LAKEPACK_DUCKDB_${_part}_SHA256)
        file(REMOVE "${_tgz}")
      endif()
    endif()
    if(NOT EXISTS "${_tgz}")
      message(STATUS "Fetching ${LAKEPACK_DUCKDB_${_part}_URL}")
      file(DOWNLOAD "${LAKEPACK_DUCKDB_${_part}_URL}" "${_tgz}.part"
           EXPECTED_HASH SHA256=${LAKEPACK_DUCKDB_${_part}_SHA256} STATUS _st TLS_VERIFY ON)
      list(GET _st 0 _code)
      if(NOT _code EQUAL 0)
        file(REMOVE "${_tgz}.part")
        message(FATAL_ERROR "DuckDB download failed: ${_st}")
      endif()
      file(RENAME "${_tgz}.part" "${_tgz}")
    endif()
    set(_tgz_${_part} "${_tgz}")
  endforeach()
  if(NOT EXISTS "${_dd}/lib/libduckdb.so")
    file(ARCHIVE_EXTRACT INPUT "${_tgz_LIB}" DESTINATION "${_dd}/x" PATTERNS package/libduckdb.so)
    file(COPY "${_dd}/x/package/libduckdb.so" DESTINATION "${_dd}/lib")
  endif()
  if(NOT EXISTS "${_dd}/include/duckdb.h")
    file(ARCHIVE_EXTRACT INPUT "${_tgz_HDR}" DESTINATION "${_dd}/x"
         PATTERNS package/src/duckdb/src/include/duckdb.h)
    file(COPY "${_dd}/x/package/src/duckdb/src/include/duckdb.h" DESTINATION "${_dd}/include")
  endif()
  set(DUCKDB_INCLUDE_DIR "${_dd}/include")
  set(DUCKDB_LIBRARY "${_dd}/lib/libduckdb.so")
endif()

add_library(duckdb::duckdb SHARED IMPORTED GLOBAL)
set_target_properties(duckdb::duckdb PROPERTIES IMPORTED_LOCATION "${DUCKDB_LIBRARY}"
                                                INTERFACE_INCLUDE_DIRECTORIES "${DUCKDB_INCLUDE_DIR}")
get_filename_component(DUCKDB_LIBRARY_DIR "${DUCKDB_LIBRARY}" DIRECTORY)
message(STATUS "DuckDB: ${DUCKDB_LIBRARY}")
