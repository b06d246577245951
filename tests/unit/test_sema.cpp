// test_sema.cpp: unit tests of name resolution and type checking.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "frontend_helpers.h"

using namespace psync;
using namespace psync::test;

TEST_CASE("the examples type-check cleanly") {
  for (const char* name : {"one_third_rule", "last_voting"}) {
    std::ifstream in(std::string(PSYNC_SOURCE_DIR) + "/examples/" + name + ".psync");
    std::stringstream buf;
    buf << in.rdbuf();
    auto r = check_text(buf.str());
    INFO(name, "\n", r->diags.text);
    CHECK(r->ok);
    CHECK(r->diags.diagnostics.empty());
  }
}

TEST_CASE("sends of a round agree on one message type") {
  auto r = check_text(protocol_with_update("", "", "send x to all\n  send true to me"));
  CHECK(r->has_error("send-type-mismatch"));
}

TEST_CASE("the mailbox has the round's message type") {
  auto r = check_text(protocol_with_update("var b: bool = false", "b = mbox[me]"));
  CHECK(r->has_error("type-mismatch"));
  auto ok = check_text(protocol_with_update("", "x = mbox[me]"));
  CHECK(ok->ok);
}
