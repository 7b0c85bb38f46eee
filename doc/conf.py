# SPDX-License-Identifier: BSD-3-Clause
# Sphinx configuration of svio's documentation (doc/meson.build builds it with -W).
import os
import re

project = "svio"
copyright = "svio contributors"


def _version():
    # The one version the tree has: meson's project() line.
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "meson.build")
    with open(top) as f:
        m = re.search(r"version\s*:\s*'([^']+)'", f.read())
    return m.group(1) if m else ""


version = release = _version()
root_doc = "index"
exclude_patterns = ["_build"]
# Literal blocks are shell sessions and C fragments: no guessing, no colouring errors.
highlight_language = "none"
html_theme = "alabaster"
html_show_sourcelink = False
