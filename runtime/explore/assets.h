// assets.h: the explorer's page (web/*.html, .js, .css), embedded in the
// binary at build time by embed_assets.cmake (assets.cpp is generated).
#ifndef PSYNC_EXPLORE_ASSETS_H
#define PSYNC_EXPLORE_ASSETS_H

#include <cstddef>

namespace psync::explore {

struct Asset {
  const char* name;  // file name under web/, served at /NAME (index.html also at /)
  const char* type;  // Content-Type
  const unsigned char* data;
  size_t size;
};

extern const Asset kAssets[];
extern const size_t kNumAssets;

}  // namespace psync::explore

#endif  // PSYNC_EXPLORE_ASSETS_H
