#!/usr/bin/env python3
"""run_tm_crosscheck.py: runs tm_crosscheck.js (the TextMate grammar against
the real lexer) over every example, stdlib module and lit input.

usage: run_tm_crosscheck.py NODE NODE_MODULES GRAMMAR DUMP_TOKENS ROOT
"""
import glob
import os
import subprocess
import sys

node, modules, grammar, dump, root = sys.argv[1:6]
files = sorted(glob.glob(os.path.join(root, "examples", "*.psync")) +
               glob.glob(os.path.join(root, "stdlib", "*.psync")) +
               glob.glob(os.path.join(root, "tests", "lit", "**", "*.psync"), recursive=True))
files = [f for f in files if os.sep + "Output" + os.sep not in f]  # lit's scratch files
env = dict(os.environ, NODE_PATH=modules)
here = os.path.dirname(os.path.abspath(__file__))
sys.exit(subprocess.run([node, os.path.join(here, "tm_crosscheck.js"), grammar, dump] + files, env=env).returncode)
