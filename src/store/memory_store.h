// MemoryStore: an ObjectStore held in memory, with every guarantee of object_store.h
// (create-only and compare-and-swap writes, tags, pinned reads and deletes), for unit tests of
// the layers above the store (commit, leases, planners) that must run without I/O.
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "lakepack/object_store.h"

namespace lakepack {

//! A fresh, empty store named mem://<name>.
std::shared_ptr<ObjectStore> MakeMemoryStore(std::string name = "test");

}  // namespace lakepack
