// Spool sweeping: a new spool removes dead runs' spools beside it, and never one that is alive
// or still being made (the race that once removed a live convert's spool under it).
#include "exec/spool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "unit/scratch_dir.h"

namespace lakepack {
namespace {

namespace fs = std::filesystem;

// A spool directory as a run leaves it: the lock file with `content`, nobody holding it.
std::string LeftSpool(const std::string& base, const std::string& name,
                      const std::string& content) {
  std::string dir = base + "/" + name;
  fs::create_directories(dir + "/downloads");
  std::ofstream(dir + "/.lakepack-spool.lock") << content;
  std::ofstream(dir + "/downloads/part") << "bytes";
  return dir;
}

TEST(Spool, ANewSpoolSweepsDeadOnesButNotOnesBeingMadeOrAlive) {
  test_util::ScratchDir scratch;
  const std::string base = scratch.path();
  std::string dead = LeftSpool(base, "lakepack-run-dead01", "lakepack spool\n");
  // Between a creator's open of its lock file and its flock: empty, not locked.
  std::string making = LeftSpool(base, "lakepack-run-make01", "");
  auto alive = Spool::Create(base);
  ASSERT_TRUE(alive.ok()) << alive.status().ToString();
  EXPECT_FALSE(fs::exists(dead)) << "a dead run's spool is swept";
  EXPECT_TRUE(fs::exists(making)) << "a spool being made is left alone";

  auto second = Spool::Create(base);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(fs::exists((*alive)->path())) << "a live spool is never swept";
  EXPECT_TRUE(fs::exists(making));

  // A creator killed before its mark: swept once it is old.
  auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  fs::last_write_time(making + "/.lakepack-spool.lock", old);
  auto third = Spool::Create(base);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_FALSE(fs::exists(making));
  EXPECT_TRUE(fs::exists((*alive)->path()));
  EXPECT_TRUE(fs::exists((*second)->path()));
}

}  // namespace
}  // namespace lakepack
