#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The man pages against the programs and the bus interface (suite 'unit', TAP).

Generic on purpose: it reads the programs' own --help and getopt tables, the
interface XML and the error tables, so a new option, verb, method or error
fails here until it is documented, with no list to update in this file.

  - every long option in a getopt table under src/ is documented in a man page;
  - for each built program with a man page: every option its --help (and, for
    vertex-certctl, each verb's --help) lists is in that page, and every option
    the page documents is accepted by the program;
  - every vertex-certctl verb its --help lists is in vertex-certctl(1);
  - every method, signal and property of dbus/org.vertex.Certificates.xml and
    every error name the daemon can return is in org.vertex.Certificates(5).
"""
import glob
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

src = os.environ.get('VERTEX_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..'))
build = os.environ.get('VERTEX_BUILD_DIR', os.path.join(src, 'build'))

results = []


def check(ok, what, detail=''):
    results.append((bool(ok), what, detail))


def man_text(name):
    with open(os.path.join(src, 'man', name), encoding='utf-8') as f:
        # troff escapes: "\-" is a dash, "\fB" a font change.
        return re.sub(r'\\f[BIRP]', '', f.read()).replace('\\-', '-')


def options_in(text):
    return set(re.findall(r'(?<![\w-])(--[a-z][a-z0-9-]*)', text))


def short_options_in(text):
    return set(re.findall(r'(?<![\w-])(-[a-zA-Z])(?![\w-])', text))


def run(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20,
                          env={'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'LC_ALL': 'C',
                               'DBUS_SYSTEM_BUS_ADDRESS': 'unix:path=/nonexistent'})


def accepted(program, option):
    """Whether getopt knows the option. A bogus option after it makes every
    program stop at argument parsing, before it does anything."""
    value = option + ('=x' if option.startswith('--') else '')
    argv = [program, value] if option.startswith('--') else [program, option, 'x']
    p = run(argv + ['--no-such-option-for-check-man'])
    return ("unrecognized option '" + option) not in p.stderr and \
        ("invalid option -- '" + option[1:]) not in p.stderr


# Every getopt table entry under src/ is documented somewhere.
all_docs = ''.join(man_text(os.path.basename(m)) for m in glob.glob(os.path.join(src, 'man', '*.[1-8]')))
documented = options_in(all_docs)
for c in sorted(glob.glob(os.path.join(src, 'src', '**', '*.c'), recursive=True)):
    for name in re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument', open(c).read()):
        check('--' + name in documented, f'--{name} ({os.path.relpath(c, src)}) is documented in a man page')

# Each built program with a man page.
pages = {}
for m in glob.glob(os.path.join(src, 'man', '*.[18]')):
    pages[re.sub(r'\.[18]$', '', os.path.basename(m))] = os.path.basename(m)
programs = [p for p in sorted(pages) if os.access(os.path.join(build, 'src', p), os.X_OK)]
check(len(programs) >= 4, 'the built programs with man pages are found', ' '.join(programs))

for prog in programs:
    path = os.path.join(build, 'src', prog)
    page = man_text(pages[prog])
    helps = [run([path, '--help']).stdout]
    if prog == 'vertex-certctl':
        # Verbs: the indented words of the command list in --help.
        verbs = sorted(set(re.findall(r'^  ([a-z][a-z-]+)(?= |$)', helps[0], re.M)))
        check(len(verbs) >= 5, 'vertex-certctl --help lists its verbs', ' '.join(verbs))
        for v in verbs:
            check(re.search(r'^\.(B|BR|BI) ' + re.escape(v) + r'\b', page, re.M),
                  f'vertex-certctl(1) documents the verb {v}')
            helps.append(run([path, v, '--help']).stdout)
    listed = set()
    for h in helps:
        listed |= options_in(h)
    check('--help' in listed and '--version' in listed, f'{prog} --help lists --help and --version')
    for o in sorted(listed):
        check(o in options_in(page), f'{pages[prog]} documents {o} (from {prog} --help)')
    # Options the page documents in its OPTIONS section are accepted.
    section = re.search(r'^\.SH OPTIONS\n(.*?)(?=^\.SH )', page, re.M | re.S)
    check(section, f'{pages[prog]} has an OPTIONS section')
    if section:
        tags = '\n'.join(re.findall(r'^\.TP\n(.*)$', section.group(1), re.M))
        for o in sorted(options_in(tags) | short_options_in(tags)):
            check(accepted(path, o), f'{prog} accepts {o} (documented in {pages[prog]})')
    v = run([path, '--version'])
    check(v.returncode == 0 and re.fullmatch(prog + r' \d+\.\d+\.\d+\n', v.stdout),
          f'{prog} --version prints its name and version', v.stdout + v.stderr)

# The bus interface.
bus_page = man_text('org.vertex.Certificates.5')
bus_tags = '\n'.join(re.findall(r'^\.TP\n(.*)$', bus_page, re.M))
iface = ET.parse(os.path.join(src, 'dbus', 'org.vertex.Certificates.xml')).getroot().find('interface')
for kind in ('method', 'signal', 'property'):
    for e in iface.findall(kind):
        name = e.get('name')
        check(re.search(r'(^|[ "])' + name + r'\b', bus_tags, re.M),
              f'org.vertex.Certificates(5) documents the {kind} {name}')
errors = set(re.findall(r'= "([A-Z]\w+)"', open(os.path.join(src, 'src/core/cert-error.c')).read())) - {'OK'}
errors |= set(re.findall(r'return "([A-Z]\w+)"', open(os.path.join(src, 'src/daemon/pipeline.c')).read()))
for f in glob.glob(os.path.join(src, 'src/daemon/*.c')):
    errors |= set(re.findall(r'BUS_ERROR\("(\w+)"\)', open(f).read()))
check(len(errors) >= 15, 'the error names are found', ' '.join(sorted(errors)))
for e in sorted(errors):
    check(re.search(r'^\.BR? ' + e + r'\b', bus_page, re.M), f'org.vertex.Certificates(5) documents the error {e}')

print(f'1..{len(results)}')
for i, (ok, what, detail) in enumerate(results, 1):
    print(f'{"ok" if ok else "not ok"} {i} - {what}')
    if not ok and detail:
        print('# ' + detail.replace('\n', '\n# '))
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
