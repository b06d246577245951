# lit configuration for psync's compiler tests. Each .psync or .test file
# carries its own RUN: lines; FileCheck compares the output.
import os
import lit.formats

config.name = "psync"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".psync", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
# Outputs (%t) go under the build tree when ctest says where, not the sources.
if lit_config.params.get("exec_root"):
    config.test_exec_root = lit_config.params["exec_root"]

psyncc = lit_config.params.get("psyncc")
if not psyncc:
    lit_config.fatal("run lit with --param psyncc=/path/to/psyncc (ctest does)")
# FileCheck, llvm-nm and llvm-readelf: the directory CMake found them in.
llvm_bin = lit_config.params.get("llvm_bin")
if not llvm_bin or not os.path.exists(os.path.join(llvm_bin, "FileCheck")):
    lit_config.fatal("run lit with --param llvm_bin=DIR, the directory of FileCheck (ctest does)")
root = os.path.abspath(os.path.join(config.test_source_root, "..", ".."))

# psyncc build links in-process with lld's library (compiler/codegen/lld_link.cmake).
if lit_config.params.get("lld_inprocess", "OFF").upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("lld-inprocess")

config.substitutions.append(("%psyncc", psyncc))
config.substitutions.append(("%root", root))
config.substitutions.append(("%examples", os.path.join(root, "examples")))
config.substitutions.append(("%stdlib", os.path.join(root, "stdlib")))
config.substitutions.append(("%python", lit_config.params.get("python", "python3")))
config.environment["PATH"] = os.pathsep.join([llvm_bin, config.environment.get("PATH", os.environ.get("PATH", ""))])
config.environment["PSYNC_STDLIB"] = os.path.join(root, "stdlib")
