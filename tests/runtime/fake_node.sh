#!/bin/sh
# fake_node.sh: stands in for a protocol binary in the launcher's tests
# (test_launch.cpp), misbehaving as FAKE_NODE_MODE says. It takes the node's
# command line (--id I --instances K ...) and answers --check-config with 0.
#   hang      ignore the time limit: sleep until stopped
#   crash     die of SIGSEGV
#   no-port   exit 2 with a one-line error, as a node that cannot bind does
#   disagree  decide instance 0 with the value I (every replica differs), exit 0
#   bad-config  reject the command line (also under --check-config)
ulimit -c 0  # the crash mode leaves no core file behind
id=-1
for arg in "$@"; do
  if [ "$prev" = "--id" ]; then id=$arg; fi
  if [ "$arg" = "--check-config" ] && [ "$FAKE_NODE_MODE" != "bad-config" ]; then exit 0; fi
  prev=$arg
done
case "$FAKE_NODE_MODE" in
  hang) exec sleep 60 ;;
  crash) kill -SEGV $$ ;;
  no-port) echo "$0: error: cannot listen on TCP 127.0.0.1:1: Address already in use" >&2; exit 2 ;;
  disagree) echo "{\"id\":$id,\"instance\":0,\"round\":1,\"value\":$id,\"us\":5}"; exit 0 ;;
  bad-config) echo "$0: error: --input init: 'x' is not an int" >&2; exit 2 ;;
esac
echo "$0: error: unknown FAKE_NODE_MODE '$FAKE_NODE_MODE'" >&2
exit 2
