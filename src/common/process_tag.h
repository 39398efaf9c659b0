// Names that say which process made them ("<pid>@<host>"), so that a later run on the same host
// can tell leftovers of a process that died (a temp file of an interrupted write, a capability
// probe) from those of one still at work, and remove only the former.
#pragma once

#include <string>
#include <string_view>

namespace lakepack {

//! "<pid>@<host>" of this process (no '/' in it; the host as gethostname(2) gives it).
const std::string& ThisProcessTag();

//! Whether `tag` ("<pid>@<host>") names a process of this host that no longer runs. A tag of
//! another host, or one that does not parse, is not known dead: false.
bool IsDeadProcessHere(std::string_view tag);

}  // namespace lakepack
