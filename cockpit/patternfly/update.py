#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Regenerates the PatternFly 4 subset the Certificates page ships.

    npm pack @patternfly/patternfly@4.224.5
    cockpit/patternfly/update.py patternfly-patternfly-4.224.5.tgz

Writes patternfly.css (the base: variables, reset, the Red Hat fonts, plus
the components and layouts listed below) and fonts/*.woff2 next to this
script; LICENSE is the MIT licence the package declares. The tarball's SHA-512 must match the one pinned here, so the
committed files can be reproduced byte for byte from the npm registry.
"""

import base64
import hashlib
import os
import re
import sys
import tarfile

VERSION = "4.224.5"
# dist.integrity of @patternfly/patternfly@4.224.5 in the npm registry.
INTEGRITY = "sha512-io0huj+LCP5FgDZJDaLv1snxktTYs8iCFz/W1VDRneYoebNHLmGfQdF7Yn8bS6PF7qmN6oJKEBlq3AjmmE8vdA=="

COMPONENTS = [
    "Page", "Card", "DescriptionList", "Form", "FormControl", "Button",
    "Alert", "AlertGroup", "Table", "ModalBox", "Backdrop", "Label", "Title",
    "HelperText", "Spinner", "Content", "Divider", "EmptyState", "Truncate",
    "Check", "Toolbar", "ClipboardCopy", "LabelGroup",
]
# Further stylesheets of a component: the table's stacked layout for
# narrow screens (pf-m-grid-*).
EXTRA = {"Table": ["table-grid"]}
LAYOUTS = ["Bullseye", "Flex", "Gallery", "Grid", "Split", "Stack"]
# The fonts Cockpit's own pages use: Red Hat Text for text, Red Hat Display
# for headings. The other families of the base file are dropped; the
# browser falls back along the font stack for them.
FONTS = re.compile(r"\./assets/fonts/(RedHatText|RedHatDisplay)/([A-Za-z-]+)\.woff2")
HERE = os.path.dirname(os.path.abspath(__file__))


def check_integrity(path):
    algo, expected = INTEGRITY.split("-", 1)
    with open(path, "rb") as f:
        digest = base64.b64encode(hashlib.new(algo, f.read()).digest()).decode()
    if digest != expected:
        sys.exit(f"{path}: {algo} {digest} is not the pinned {expected}")


def font_faces(css, fonts):
    """Keeps the @font-face rules whose woff2 is a shipped font, pointing at fonts/."""
    def keep(match):
        rule = match.group(0)
        m = FONTS.search(rule)
        if not m:
            return ""
        fonts.add(m.group(0))
        # woff2 only: every browser Cockpit supports reads it.
        src = f'src: url("fonts/{m.group(2)}.woff2") format("woff2");'
        return re.sub(r"src:[^;]*;", src, rule, flags=re.S)
    return re.sub(r"@font-face\s*\{[^}]*\}", keep, css)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    check_integrity(sys.argv[1])
    with tarfile.open(sys.argv[1]) as tar:
        def read(name):
            return tar.extractfile("package/" + name).read().decode()
        fonts = set()
        parts = [f"/* PatternFly {VERSION} (MIT, see LICENSE): a subset made by update.py */\n",
                 font_faces(read("patternfly-base.css"), fonts)]
        for c in COMPONENTS:
            kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", c).lower()
            for name in [kebab] + EXTRA.get(c, []):
                parts.append(read(f"components/{c}/{name}.css"))
        for layout in LAYOUTS:
            parts.append(read(f"layouts/{layout}/{layout.lower()}.css"))
        css = "\n".join(parts)
        if "url(\"./assets" in css or "url('./assets" in css:
            sys.exit("an asset the subset does not ship is still referenced")
        with open(os.path.join(HERE, "patternfly.css"), "w") as f:
            f.write(css)
        os.makedirs(os.path.join(HERE, "fonts"), exist_ok=True)
        for font in sorted(fonts):
            data = tar.extractfile("package/" + font[2:]).read()
            with open(os.path.join(HERE, "fonts", os.path.basename(font)), "wb") as f:
                f.write(data)
        if '"license": "MIT"' not in read("package.json"):
            sys.exit("the package's licence is no longer MIT: check LICENSE")


if __name__ == "__main__":
    main()
