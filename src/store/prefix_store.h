// PrefixStore: presents the keys below a fixed prefix of another store as a store of its own
// (like Arrow's SubTreeFileSystem). Composes with any ObjectStore; thread-safe when the base is.
#pragma once

#include <memory>
#include <string>

#include "lakepack/object_store.h"

namespace lakepack {

//! A store whose key "k" is `base`'s key "<prefix>/k". Leading '/'s of `prefix` are dropped
//! and one trailing '/' is implied ("a/b" and "a/b/" are the same); an empty prefix gives
//! `base` itself. Keys are validated before the prefix is added, so a key can never climb
//! out of the prefix. Capabilities, guarantees and error codes are the base store's; error
//! messages name the base store's full key.
std::shared_ptr<ObjectStore> MakePrefixStore(std::shared_ptr<ObjectStore> base, std::string prefix);

}  // namespace lakepack
