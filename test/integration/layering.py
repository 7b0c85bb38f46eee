#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Layering is enforced by the build: a folder of libsvio finds the headers of
its own folder and of the folders it declares in deps, and no other; a program
on the shared library finds the installed headers and no other.

Each check preprocesses a one-line file including one header, with the very
flags ninja compiles that folder's sources with (compile_commands.json), from
a directory outside the tree so only the include path can find the header.

Usage: layering.py BUILD_DIR SOURCE_DIR PUBLIC_HEADERS APP_SOURCE FOLDER=DEP,DEP...
  PUBLIC_HEADERS: the installed headers' names, comma-separated.
  APP_SOURCE: a source file of a program on the shared library.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile


def flags_for(commands, pred):
    """The compile command of the first source pred() accepts, minus its I/O."""
    for c in commands:
        path = os.path.normpath(os.path.join(c["directory"], c["file"]))
        if pred(path):
            args = shlex.split(c["command"])
            out, skip = [], False
            for a in args:
                if skip:
                    skip = False
                elif a in ("-o", "-MQ", "-MF"):
                    skip = True
                elif a in ("-MD", "-c") or a == c["file"]:
                    pass
                else:
                    out.append(a)
            return c["directory"], out
    return None, None


def finds(directory, args, header, tmp):
    probe = os.path.join(tmp, "probe.c")
    with open(probe, "w") as f:
        f.write('#include "%s"\n' % header)
    r = subprocess.run(args + ["-E", probe, "-o", os.devnull], cwd=directory,
                       capture_output=True, text=True)
    # Found even when a header it includes in turn is not: that one is the
    # business of the folders that include it.
    return "%s: No such file" % header not in r.stderr


def main():
    build, src, public, app_source = sys.argv[1:5]
    deps = {}
    for arg in sys.argv[5:]:
        folder, _, listed = arg.partition("=")
        deps[folder] = [d for d in listed.split(",") if d]
    with open(os.path.join(build, "compile_commands.json")) as f:
        commands = json.load(f)
    # The include path holds folders: one header of each stands for the
    # folder; programs are checked against every header.
    every = {}
    for folder in deps:
        headers = sorted(h for h in os.listdir(os.path.join(src, folder)) if h.endswith(".h"))
        if headers:
            every[folder] = headers
    failures = 0
    checks = 0
    with tempfile.TemporaryDirectory() as tmp:
        for folder, declared in deps.items():
            root = os.path.join(src, folder) + os.sep
            directory, args = flags_for(
                commands, lambda p: p.startswith(root) and os.path.dirname(p) + os.sep == root)
            if args is None:
                print("%s: no source in compile_commands.json" % folder)
                failures += 1
                continue
            for other, headers in every.items():
                expect = other == folder or other in declared
                checks += 1
                if finds(directory, args, headers[0], tmp) != expect:
                    failures += 1
                    print("%s %s %s/%s" % (folder, "cannot include" if expect else
                                           "can include, undeclared,", other, headers[0]))
        directory, args = flags_for(commands,
                                    lambda p: p == os.path.normpath(os.path.join(src, app_source)))
        installed = set(public.split(","))
        for headers in every.values():
            for header in headers:
                checks += 1
                if finds(directory, args, header, tmp) != (header in installed):
                    failures += 1
                    print("%s %s %s" % (app_source, "cannot include installed" if header in
                                        installed else "can include private", header))
    if failures:
        print("%d of %d include checks broke the layering" % (failures, checks))
        return 1
    print("%d include checks: every folder sees only itself and its deps, programs only "
          "the installed headers" % checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
