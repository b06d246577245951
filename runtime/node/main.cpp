// main.cpp: the main() of every compiled protocol binary. The protocol comes
// from the generated object, which exports `psync_protocol`; everything else
// is in libpsync_runtime.a.
#include "node/node.h"

extern "C" const psync_protocol_desc psync_protocol;

int main(int argc, char** argv) { return psync::node::node_main(psync_protocol, argc, argv); }
