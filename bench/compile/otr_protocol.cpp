// otr_protocol.cpp: exports the hand-written OneThirdRule as `psync_protocol`,
// the one symbol a compiled protocol object provides, so that linking this
// with libpsync_runtime.a yields a node binary exactly as psyncc's output does.
#include "one_third_rule.h"

extern "C" const psync_protocol_desc psync_protocol;
extern "C" const psync_protocol_desc psync_protocol = psync::bench::kOneThirdRule;
