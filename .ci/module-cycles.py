#!/usr/bin/env python3
"""Fails when the top-level modules of a crate import each other in a cycle (issue 11: a module at the bottom
imports nothing above it). Reads every `crate::<module>` path in each top-level module's files (its `.rs` file
and its directory), ignoring comments, and looks for cycles in that graph."""
import os
import re
import sys

def strip_comments(text):
    """The code of a file without comments and without its test module (`#[cfg(test)]` to the end)."""
    text = text.split('#[cfg(test)]')[0]
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    return '\n'.join(line.split('//')[0] for line in text.splitlines())

def modules(src):
    mods = {}
    for name in os.listdir(src):
        path = os.path.join(src, name)
        if name.endswith('.rs') and name not in ('lib.rs', 'main.rs'):
            mods.setdefault(name[:-3], []).append(path)
        elif os.path.isdir(path):
            for root, _, files in os.walk(path):
                mods.setdefault(name, []).extend(
                    os.path.join(root, f) for f in files if f.endswith('.rs') and f != 'tests.rs')
    return mods

def graph(src):
    mods = modules(src)
    edges = {m: set() for m in mods}
    for m, files in mods.items():
        for f in files:
            text = strip_comments(open(f, encoding='utf-8').read())
            used = set(re.findall(r'\bcrate::([a-z_][a-z0-9_]*)', text))
            # `use crate::{a, b::c}` groups
            for group in re.findall(r'\bcrate::\{([^}]*)\}', text):
                used |= set(re.findall(r'(?:^|[,{\s])([a-z_][a-z0-9_]*)(?=::|\s*[,}]|$)', group))
            edges[m] |= {u for u in used if u in mods and u != m}
    return edges

def cycles(edges):
    found, state, stack = [], {}, []
    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in sorted(edges[n]):
            if state.get(d) == 1:
                found.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[n] = 2
    for n in sorted(edges):
        if n not in state:
            visit(n)
    return found

def main():
    args = [a for a in sys.argv[1:] if not a.startswith('-')]
    root = args[0] if args else 'crates'
    bad = False
    for crate in sorted(os.listdir(root)):
        src = os.path.join(root, crate, 'src')
        if not os.path.isdir(src):
            continue
        edges = graph(src)
        for c in cycles(edges):
            bad = True
            print(f'{crate}: module cycle: ' + ' -> '.join(c))
        if '-v' in sys.argv:
            for m in sorted(edges):
                print(f'{crate}: {m} -> {", ".join(sorted(edges[m])) or "-"}')
    if bad:
        sys.exit(1)
    print('ok: no import cycle between the top-level modules of any crate')

main()
