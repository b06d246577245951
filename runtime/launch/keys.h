// keys.h: key files for a cluster, behind `psyncc keygen` and the keys
// `psyncc run` gives its local clusters. Each replica gets DIR/replica-I.key
// (its secret key, mode 0600) and DIR/replica-I.pub; a cluster file can be
// rewritten with every public key added (net/auth.h has the format).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace psync::launch {

struct ReplicaKeys {
  int id = 0;
  std::string secret_path;
  std::string public_path;
  std::string public_hex;
};

// Makes DIR if needed and writes a fresh key pair for each id. Refuses to
// overwrite an existing key file. Empty on failure, with `error` set.
std::vector<ReplicaKeys> generate_keys(const std::string& dir, const std::vector<int>& ids, std::string& error);

// A cluster file's processes, as read for keygen: id and address (the
// node's own parser checks everything else when it starts).
struct ClusterEntry {
  int id = 0;
  std::string address;
};
// False with `error` set if the file cannot be read or is not a cluster file.
bool read_cluster_entries(const std::string& path, std::vector<ClusterEntry>& out, std::string& error);

// Writes a cluster file listing each entry with its public key (keys[i] is
// the one for entries[i]). Refuses to overwrite an existing file.
bool write_keyed_cluster(const std::string& path, const std::vector<ClusterEntry>& entries,
                         const std::vector<std::string>& public_hex, const std::string& comment, std::string& error);

}  // namespace psync::launch
