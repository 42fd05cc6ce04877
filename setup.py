"""Builds the Swift hot path into the `arbbot._native` extension module.

`pip install .` / `pip install -e .` run `swift build -c release` on the SwiftPM product
`ArbNative` (C glue + Swift engine in one .so, Swift stdlib linked statically) and copy the
library to where Python looks for the extension. ARBBOT_SKIP_NATIVE=1 installs the pure-Python
engine only (the bot then warns once and runs the Python twin).
"""
import os
import shutil
import subprocess
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class SwiftBuildExt(build_ext):
    def build_extension(self, ext: Extension) -> None:
        swift = shutil.which("swift")
        if swift is None:
            raise SystemExit(
                "arbbot: the Swift toolchain ('swift' on PATH) is needed to build arbbot._native; "
                "install it, or set ARBBOT_SKIP_NATIVE=1 to install the pure-Python engine only"
            )
        include = sysconfig.get_paths()["include"]
        cmd = [swift, "build", "-c", "release", "--product", "ArbNative",
               "-Xswiftc", "-static-stdlib", "-Xcc", f"-I{include}"]
        subprocess.check_call(cmd, cwd=ROOT)
        bin_path = subprocess.check_output(cmd + ["--show-bin-path"], cwd=ROOT, text=True).strip()
        built = os.path.join(bin_path, "libArbNative.so")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built, target + ".tmp")
        os.replace(target + ".tmp", target)  # atomic: a running interpreter keeps its mapping


SKIP_NATIVE = os.environ.get("ARBBOT_SKIP_NATIVE") == "1"

setup(
    ext_modules=[] if SKIP_NATIVE else [Extension("arbbot._native", sources=[])],
    cmdclass={"build_ext": SwiftBuildExt},
)
