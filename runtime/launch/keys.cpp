// keys.cpp: key files and keyed cluster files (see keys.h).
#include "launch/keys.h"

#include "net/auth.h"

#include <toml++/toml.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace psync::launch {

namespace fs = std::filesystem;

std::vector<ReplicaKeys> generate_keys(const std::string& dir, const std::vector<int>& ids, std::string& error) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create '" + dir + "': " + ec.message();
    return {};
  }
  std::vector<ReplicaKeys> out;
  try {
    for (int id : ids) {
      ReplicaKeys k;
      k.id = id;
      k.secret_path = (fs::path(dir) / ("replica-" + std::to_string(id) + ".key")).string();
      k.public_path = (fs::path(dir) / ("replica-" + std::to_string(id) + ".pub")).string();
      const net::KeyPair pair = net::generate_key_pair();
      net::write_secret_key_file(k.secret_path, pair, id);
      net::write_public_key_file(k.public_path, pair.public_key, id);
      k.public_hex = net::to_hex(pair.public_key);
      out.push_back(std::move(k));
    }
  } catch (const std::runtime_error& e) {
    error = e.what();
    return {};
  }
  return out;
}

bool read_cluster_entries(const std::string& path, std::vector<ClusterEntry>& out, std::string& error) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    error = path + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
            std::string(e.description());
    return false;
  }
  const toml::array* procs = doc["process"].as_array();
  if (procs == nullptr || procs->empty()) {
    error = path + ": no [[process]] entries";
    return false;
  }
  for (size_t i = 0; i < procs->size(); ++i) {
    const toml::table* t = (*procs)[i].as_table();
    auto id = t ? (*t)["id"].value<int64_t>() : std::nullopt;
    auto addr = t ? (*t)["address"].value<std::string>() : std::nullopt;
    if (!id || !addr || *id < 0 || *id > 63) {
      error = path + ": process #" + std::to_string(i + 1) + " needs id = 0..63 and address = \"host:port\"";
      return false;
    }
    if (t->contains("public_key")) {
      error = path + ": process " + std::to_string(*id) + " already has a public_key";
      return false;
    }
    out.push_back({int(*id), *addr});
  }
  return true;
}

bool write_keyed_cluster(const std::string& path, const std::vector<ClusterEntry>& entries,
                         const std::vector<std::string>& public_hex, const std::string& comment, std::string& error) {
  std::ostringstream text;
  text << "# " << comment << "\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string addr;
    for (char c : entries[i].address) {
      if (c == '"' || c == '\\') addr += '\\';
      addr += c;
    }
    text << "\n[[process]]\nid = " << entries[i].id << "\naddress = \"" << addr << "\"\npublic_key = \""
         << public_hex[i] << "\"\n";
  }
  const std::string s = text.str();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot create '" + path + "': " + std::strerror(errno);
    return false;
  }
  const bool ok = ::write(fd, s.data(), s.size()) == ssize_t(s.size());
  ::close(fd);
  if (!ok) error = "cannot write '" + path + "'";
  return ok;
}

}  // namespace psync::launch
