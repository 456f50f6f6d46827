#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the whole feature as a git format-patch series against 6.12.

    scripts/series.py            write build/series/out/*.patch (make series)
    scripts/series.py --check    the same, then check it (make check-host):
                                 it applies with git am, gives the tree that
                                 scripts/tree.sh assembles, and checkpatch
                                 --strict finds nothing but the sign-off

The source stays where it is: patches/series (our edits of upstream files)
and the overlay (Kconfig, Kbuild, mm/, rust/, include/, tools/,
Documentation/).  patches/series-groups says which commit each patch and
each overlay file goes into, in series order, and where a commit message
comes from; patches/series-text/ holds the messages written for the series
and the cover letter.  A file or patch that no group takes is an error, so
nothing is left out silently.

How: a throwaway git repository, build/series/work, gets a base commit of
the pristine 6.12 files the patches change, then one commit per group
(patches applied with patch -p1 -F0 as tree.sh applies them, overlay files
copied), then git format-patch --cover-letter.  The base holds only those
files: git am reads nothing but the files a patch changes, and a commit of
the whole tree (86,700 files, 1.7 GB) took 50 s and 580 MB on the 2-core
machine, against a tenth of a second for these.  The pristine copies come
from the source tree.sh unpacked:
build/orig/ keeps the original of every file a patch ever touched, and a
file not there was never patched, so build/linux has it as unpacked.
Nothing under build/linux is written.
"""

import argparse
import concurrent.futures
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.environ.get("B") or os.path.join(TOP, "build")
SRC = os.path.join(B, "linux")
ORIG = os.path.join(B, "orig")
OUT = os.path.join(B, "series")
PATCHES = os.path.join(TOP, "patches")
GROUPS_FILE = os.path.join(PATCHES, "series-groups")
TEXT_DIR = os.path.join(PATCHES, "series-text")

# What the overlay is: every file here must be in a group (or excluded).
OVERLAY_ROOTS = ["Kconfig", "Kbuild", "mm", "rust", "include", "tools",
                 "Documentation"]

# checkpatch message types that do not fail the check:
# - MISSING_SIGN_OFF: the series carries no Signed-off-by on purpose; the
#   person who sends it certifies the DCO and adds theirs (git am -s,
#   git format-patch -s), as the cover letter says.
# - FILE_PATH_CHANGES ("added, moved or deleted file(s), does MAINTAINERS
#   need updating?"): every new file is under a directory an existing
#   MAINTAINERS entry covers (mm/, rust/, include/linux/, tools/testing/
#   selftests/, Documentation/mm/), so get_maintainer.pl finds reviewers
#   for each patch.  A dedicated entry names who maintains the code; that
#   is for the sender and the mm and Rust maintainers to settle, not for a
#   generated series to invent.
ACCEPTED_TYPES = {"MISSING_SIGN_OFF", "FILE_PATH_CHANGES"}

GIT_ENV = {
    # The user's git configuration (format.signoff, am.threeWay, hooks...)
    # must not change what is generated or checked.
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
    "TZ": "UTC",
}


def die(msg):
    print("series: ERROR: " + msg, file=sys.stderr)
    sys.exit(1)


def say(msg):
    print("series: " + msg, flush=True)


def run(cmd, cwd=None, env=None, input=None, check=True):
    e = dict(os.environ)
    e.update(GIT_ENV)
    if env:
        e.update(env)
    p = subprocess.run(cmd, cwd=cwd, env=e, input=input, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and p.returncode != 0:
        die("%s failed (in %s):\n%s" % (" ".join(cmd), cwd or ".", p.stdout))
    return p


# --- patches/series-groups -----------------------------------------------

def glob_re(pattern):
    """'*' and '?' stay inside one directory, '**' spans any depth."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


class Rule:
    def __init__(self, group, pattern, dest, where):
        self.group = group
        self.pattern = pattern
        self.dest = dest
        self.where = where
        self.is_glob = any(c in pattern for c in "*?")
        # The directory part before the first wildcard: a glob's files keep
        # their path below it when the destination is a directory.
        lit = re.split(r"[*?]", pattern)[0]
        self.base = lit[:lit.rfind("/") + 1] if self.is_glob else ""
        self.rx = glob_re(pattern)
        self.matched = 0
        if dest and not dest.endswith("/") and self.is_glob:
            die("%s: a glob needs a directory destination (ending in /)" % where)

    def specificity(self):
        # An exact path beats any glob; among globs the longer fixed
        # directory part wins (rust/kernel/mm/shmem.rs over rust/kernel/mm/**,
        # tools/.../vm/bench/** over tools/.../vm/**).
        return (1, len(self.pattern)) if not self.is_glob else (0, len(self.base))

    def dest_of(self, path):
        if not self.dest:
            return path
        if self.dest.endswith("/"):
            return self.dest + (path[len(self.base):] if self.is_glob
                                else os.path.basename(path))
        return self.dest


class Group:
    def __init__(self, name, where):
        self.name = name
        self.where = where
        self.patches = []
        self.files = []        # (source path, destination path)
        self.rules = []


class CheckpatchAllow:
    """A checkpatch finding that does not fail the check: accepted (it
    stays, for the reason given beside it) or known (still to fix)."""

    def __init__(self, known, type_, pattern, count, where):
        self.known = known
        self.type = type_
        self.pattern = pattern
        self.rx = glob_re(pattern)
        self.count = count
        self.where = where
        self.seen = 0

    def takes(self, type_, f):
        return type_ == self.type and self.rx.match(f or "-") is not None


def parse_groups():
    if not os.path.isfile(GROUPS_FILE):
        die("%s missing" % GROUPS_FILE)
    settings = {}
    groups = []
    exclude = Group("exclude", GROUPS_FILE)
    allow = []             # CheckpatchAllow
    cur = None
    with open(GROUPS_FILE) as f:
        for n, raw in enumerate(f, 1):
            where = "patches/series-groups:%d" % n
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.fullmatch(r"\[([A-Za-z0-9_.-]+)\]", line)
            if m:
                name = m.group(1)
                if name == "exclude":
                    cur = exclude
                elif name in ("checkpatch-accepted", "checkpatch-known"):
                    cur = name
                else:
                    if any(g.name == name for g in groups):
                        die("%s: group [%s] defined twice" % (where, name))
                    cur = Group(name, where)
                    groups.append(cur)
                continue
            words = line.split()
            if cur is None:
                m = re.fullmatch(r"([a-z-]+):\s*(.*)", line)
                if not m:
                    die("%s: expected 'setting: value' before the first group" % where)
                settings[m.group(1)] = m.group(2)
            elif cur in ("checkpatch-accepted", "checkpatch-known"):
                tail = words[2:]
                if (len(words) not in (2, 3) or (tail and not tail[0].isdigit())
                        or (cur == "checkpatch-known" and not tail)):
                    die("%s: expected '<TYPE> <file%s> %s'" %
                        (where, " or glob" if cur == "checkpatch-accepted" else "",
                         "[<count>]" if cur == "checkpatch-accepted" else "<count>"))
                allow.append(CheckpatchAllow(cur == "checkpatch-known", words[0],
                                             words[1], int(tail[0]) if tail else None,
                                             where))
            elif words[0] == "patch" and len(words) == 2 and cur is not exclude:
                cur.patches.append(words[1])
            elif words[0] == "file" and len(words) in (2, 3):
                cur.rules.append(Rule(cur, words[1],
                                      words[2] if len(words) == 3 else None, where))
            else:
                die("%s: expected 'patch <file>' or 'file <path or glob> [<dest>]'" % where)
    if "author" not in settings:
        die("patches/series-groups: no 'author:' line")
    return settings, groups, exclude, allow


def series_patches():
    with open(os.path.join(PATCHES, "series")) as f:
        names = [l.split("#", 1)[0].strip() for l in f]
    return [n for n in names if n]


def overlay_files():
    files = []
    for root in OVERLAY_ROOTS:
        p = os.path.join(TOP, root)
        if os.path.isfile(p):
            files.append(root)
        elif os.path.isdir(p):
            for d, dirs, names in os.walk(p):
                dirs.sort()
                for n in sorted(names):
                    files.append(os.path.relpath(os.path.join(d, n), TOP))
    return files


def assign(groups, exclude):
    """Every overlay file to one group, every patch of patches/series to one
    group; anything left over, or claimed twice, is an error."""
    errors = []
    rules = [r for g in groups + [exclude] for r in g.rules]
    for path in overlay_files():
        hits = [r for r in rules if r.rx.match(path)]
        if not hits:
            errors.append("%s is in no group of patches/series-groups: add a "
                          "'file' line to the group of the commit it belongs "
                          "to (or to [exclude], saying why)" % path)
            continue
        best = max(r.specificity() for r in hits)
        top = [r for r in hits if r.specificity() == best]
        if len(top) > 1:
            errors.append("%s is claimed by %s with the same precedence: add an "
                          "exact 'file' line for it" %
                          (path, " and ".join(r.where for r in top)))
            continue
        r = top[0]
        r.matched += 1
        r.group.files.append((path, r.dest_of(path)))
    for r in rules:
        if not r.matched:
            print("series: warning: %s: 'file %s' matches no file" %
                  (r.where, r.pattern), file=sys.stderr)

    want = series_patches()
    owner = {}
    for g in groups:
        for p in g.patches:
            if p in owner:
                errors.append("patch %s is in two groups, [%s] and [%s]" %
                              (p, owner[p], g.name))
            owner[p] = g.name
            if p not in want:
                errors.append("[%s] names %s, which patches/series does not "
                              "list (tree.sh would not apply it)" % (g.name, p))
    for p in want:
        if p not in owner:
            errors.append("patch %s (patches/series) is in no group of "
                          "patches/series-groups: add 'patch %s' to the group "
                          "of the commit it belongs to" % (p, p))
    stray = sorted(set(n for n in os.listdir(PATCHES) if n.endswith(".patch"))
                   - set(want))
    for p in stray:
        print("series: warning: patches/%s is not in patches/series: not in "
              "the series either" % p, file=sys.stderr)

    # Our files are new files: none may land on a file of the pristine
    # tree.  build/orig has every file a patch touches; any other file in
    # build/linux is upstream's unless tree.sh put it there (the overlay
    # files it lists in build/overlay.files, and Kconfig and Kbuild under
    # their new names).
    try:
        with open(os.path.join(B, "overlay.files")) as f:
            synced = set(l.strip() for l in f)
    except OSError:
        synced = set()
    dests = {}
    for g in groups:
        for src, dst in g.files:
            if (os.path.exists(os.path.join(ORIG, dst)) or
                    (os.path.exists(os.path.join(SRC, dst)) and dst not in synced
                     and "/" in src)):
                errors.append("%s (from %s) is a file of the pristine kernel: our "
                              "files must be new files (edit upstream files with a "
                              "patch)" % (dst, src))
    for g in groups:
        if not g.patches and not g.files:
            errors.append("group [%s] (%s) has nothing in it" % (g.name, g.where))
        has_text = os.path.isfile(os.path.join(TEXT_DIR, g.name))
        if not has_text and (g.files or len(g.patches) != 1):
            errors.append("group [%s] needs its commit message in "
                          "patches/series-text/%s (only a group of exactly one "
                          "patch takes the patch's own)" % (g.name, g.name))
        for src, dst in g.files:
            if dst in dests:
                errors.append("%s and %s both go to %s" % (dests[dst], src, dst))
            dests[dst] = src
    if errors:
        die("the grouping is incomplete:\n  " + "\n  ".join(errors))
    return want


# --- the pristine source ---------------------------------------------------

def touched_by(patch):
    with open(os.path.join(PATCHES, patch)) as f:
        return [m.group(1) for m in
                (re.match(r"\+\+\+ [^/]*/(\S+)", l) for l in f) if m]


def pristine(path, overlay_dests):
    """The file as the unpacked tarball has it, or None if it has none."""
    o = os.path.join(ORIG, path)
    if os.path.isfile(o):
        return o
    if os.path.exists(o + ".absent"):
        return None
    s = os.path.join(SRC, path)
    if path in overlay_dests or not os.path.isfile(s):
        return None
    return s


def kernel_version():
    v = {}
    try:
        with open(os.path.join(ORIG, "Makefile")
                  if os.path.isfile(os.path.join(ORIG, "Makefile"))
                  else os.path.join(SRC, "Makefile")) as f:
            for line in f:
                m = re.match(r"(VERSION|PATCHLEVEL|SUBLEVEL) = (\d+)", line)
                if m:
                    v[m.group(1)] = m.group(2)
                if len(v) == 3:
                    break
        ver = "%s.%s.%s" % (v["VERSION"], v["PATCHLEVEL"], v["SUBLEVEL"])
    except (OSError, KeyError):
        ver = "6.12"
    try:
        with open(os.path.join(SRC, ".debian-version")) as f:
            deb = f.read().strip()
    except OSError:
        deb = ""
    return ver, deb


def make_base(repo, files, overlay_dests, ident, date):
    """A git repository whose one commit holds the pristine copies of
    `files`.  The same inputs give the same commit id."""
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    run(["git", "-c", "init.defaultBranch=series", "init", "-q"], cwd=repo)
    name, email = ident
    for k, v in (("user.name", name), ("user.email", email),
                 ("core.autocrlf", "false"), ("commit.gpgsign", "false")):
        run(["git", "config", k, v], cwd=repo)
    kept = 0
    for f in sorted(set(files)):
        p = pristine(f, overlay_dests)
        if p is None:
            continue
        d = os.path.join(repo, f)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(p, d)
        kept += 1
    ver, deb = kernel_version()
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-q", "--allow-empty", "-m",
         "Linux %s%s: the files the series changes\n\nOnly these files: git am "
         "reads nothing else." % (ver, " (Debian %s)" % deb if deb else "")],
        cwd=repo, env=commit_env(ident, date))
    return kept


def commit_env(ident, date):
    name, email = ident
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
            "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}


def parse_ident(s, where):
    m = re.fullmatch(r"\s*(.*?)\s*<([^>]+)>\s*", s)
    if not m:
        die("%s: '%s' is not 'Name <email>'" % (where, s))
    return m.group(1), m.group(2)


# --- commit messages --------------------------------------------------------

def patch_message(patch):
    """Author, subject and body of one of our patches (mail headers, the
    message, then '---')."""
    with open(os.path.join(PATCHES, patch)) as f:
        lines = f.read().split("\n")
    hdr = {}
    i = 0
    last = None
    while i < len(lines) and lines[i].strip():
        l = lines[i]
        if l[0] in " \t" and last:
            hdr[last] += " " + l.strip()
        else:
            k, _, v = l.partition(":")
            last = k.strip().lower()
            hdr[last] = v.strip()
        i += 1
    body = []
    for l in lines[i + 1:]:
        if l == "---" or l.startswith("--- a/") or l.startswith("diff --git"):
            break
        body.append(l)
    subject = re.sub(r"^(\[[^]]*\]\s*)+", "", hdr.get("subject", "")).strip()
    if not subject:
        die("patches/%s has no Subject: line" % patch)
    return hdr.get("from"), subject + "\n\n" + "\n".join(body).strip() + "\n"


def text_message(name):
    with open(os.path.join(TEXT_DIR, name)) as f:
        text = f.read().strip()
    if "\n\n" not in text and "\n" in text:
        die("patches/series-text/%s: the subject line must be followed by a "
            "blank line" % name)
    return text + "\n"


# --- generation ------------------------------------------------------------

def source_date():
    p = run(["git", "log", "-1", "--format=%ad", "--date=iso-strict"],
            cwd=TOP, check=False)
    d = p.stdout.strip()
    return d if p.returncode == 0 and d else time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                                           time.gmtime())


def generate(settings, groups, want):
    ident = parse_ident(settings["author"], "patches/series-groups: author")
    date = source_date()
    if not os.path.isfile(os.path.join(SRC, ".unpacked")):
        die("the kernel source is not unpacked in %s: run make tree" % SRC)
    overlay_dests = {d for g in groups for _, d in g.files}
    touched = [f for p in want for f in touched_by(p)]
    work = os.path.join(OUT, "work")
    make_base(work, touched, overlay_dests, ident, date)
    base = run(["git", "rev-parse", "HEAD"], cwd=work).stdout.strip()

    for g in groups:
        for p in g.patches:
            r = run(["patch", "-p1", "-F0", "--forward", "--no-backup-if-mismatch",
                     "-s", "-i", os.path.join(PATCHES, p)], cwd=work, check=False)
            if r.returncode != 0:
                die("patch %s does not apply in group [%s], after the groups "
                    "before it (the series order of patches/series-groups is "
                    "not the order of patches/series):\n%s" % (p, g.name, r.stdout))
        for src, dst in g.files:
            d = os.path.join(work, dst)
            if os.path.lexists(d):
                die("%s (from %s) would replace a file that is already in "
                    "the tree: our files are new files" % (dst, src))
            os.makedirs(os.path.dirname(d), exist_ok=True)
            shutil.copy2(os.path.join(TOP, src), d)
        if os.path.isfile(os.path.join(TEXT_DIR, g.name)):
            author, msg = None, text_message(g.name)
        else:
            author, msg = patch_message(g.patches[0])
        a = parse_ident(author, "patches/" + g.patches[0]) if author else ident
        run(["git", "add", "-A"], cwd=work)
        if not run(["git", "status", "--porcelain"], cwd=work).stdout.strip():
            die("group [%s] changes nothing" % g.name)
        env = commit_env(ident, date)
        env.update({"GIT_AUTHOR_NAME": a[0], "GIT_AUTHOR_EMAIL": a[1]})
        run(["git", "commit", "-q", "--cleanup=verbatim", "-F", "-"], cwd=work,
            env=env, input=msg)

    out = os.path.join(OUT, "out")
    shutil.rmtree(out, ignore_errors=True)
    run(["git", "format-patch", "-q", "--cover-letter", "--no-signature",
         "--zero-commit", "-o", out, base + "..HEAD"], cwd=work,
        env=commit_env(ident, date))
    fill_cover(out, groups)
    return work, base, out, overlay_dests


# --- the cover letter ---------------------------------------------------------

def readme_table():
    """The benchmark table of README.md's Performance section, as plain
    text columns, and the caption under it."""
    with open(os.path.join(TOP, "README.md")) as f:
        text = f.read()
    m = re.search(r"^## Performance\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m:
        die("README.md has no '## Performance' section for the cover letter")
    sec = m.group(1).split("\n")
    rows = [l for l in sec if l.startswith("|")]
    if len(rows) < 3:
        die("README.md's Performance section has no table")
    cells = [[c.strip().replace("`", "") for c in r.strip().strip("|").split("|")]
             for r in rows if not re.fullmatch(r"[|\s:-]+", r)]
    # Rows not measured yet have words where the numbers go.
    number = re.compile(r"[0-9.]+\Z")
    cells = cells[:1] + [r for r in cells[1:]
                         if all(number.match(c) for c in r[1:])]
    # The first column's text is long: keep the name, drop the explanation.
    for r in cells[1:]:
        r[0] = r[0].split(":")[0].strip()
    cells[0][0] = "operation"
    w = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    fmt = lambda r: "  ".join(r[0].ljust(w[0]) if i == 0 else c.rjust(w[i])
                              for i, c in enumerate(r)).rstrip()
    lines = [fmt(cells[0]), "  ".join("-" * x for x in w)]
    lines += [fmt(r) for r in cells[1:]]
    after = "\n".join(sec[sec.index(rows[-1]) + 1:])
    cap = re.search(r"\((guest instructions.*?)\)\n", after, re.S)
    return "\n".join(lines), (cap.group(1).replace("`", "") if cap else "")


def fill_cover(out, groups):
    path = os.path.join(out, "0000-cover-letter.patch")
    with open(path) as f:
        cover = f.read()
    with open(os.path.join(TEXT_DIR, "cover")) as f:
        tmpl = f.read().strip()
    subject, _, blurb = tmpl.partition("\n\n")
    table, caption = readme_table()
    ver, deb = kernel_version()
    # The caption, without what points into this repository's notes or
    # speaks of rows left out above.
    caption = " ".join(x for x in re.split(r"(?<=[.)])\s+(?=[A-Z(])",
                                           re.sub(r"\s+", " ", caption))
                       if "notes/" not in x and "measured" not in x)
    caption = textwrap.fill("(" + caption.rstrip(" .") + ".)", 72) if caption else ""
    index = {g.name: i for i, g in enumerate(groups, 1)}
    width = len(str(len(groups)))

    def number(m):
        if m.group(1) not in index:
            die("patches/series-text/cover: @N:%s@ names no group" % m.group(1))
        return str(index[m.group(1)])

    pmap = []
    for i, g in enumerate(groups, 1):
        for p in g.patches:
            _, subj = patch_message(p)
            pmap.append("  %s  %*d/%d  %s" % (p[:4], width, i, len(groups),
                                             subj.split("\n")[0]))
    blurb = (blurb.replace("@KERNEL@", ver + (" (Debian %s)" % deb if deb else ""))
             .replace("@COUNT@", str(len(groups)))
             .replace("@TABLE@", table)
             .replace("@CAPTION@", caption)
             .replace("@PATCHMAP@", "\n".join(pmap)))
    blurb = re.sub(r"@N:([A-Za-z0-9_.-]+)@", number, blurb)
    if re.search(r"@[A-Z]+[@:]", blurb):
        die("patches/series-text/cover: unknown placeholder " +
            re.search(r"@[A-Z]+[^ ]*", blurb).group(0))
    if "*** SUBJECT HERE ***" not in cover or "*** BLURB HERE ***" not in cover:
        die("git format-patch wrote a cover letter without its placeholders")
    cover = cover.replace("*** SUBJECT HERE ***", subject.strip())
    cover = cover.replace("*** BLURB HERE ***", blurb.strip())
    with open(path, "w") as f:
        f.write(cover)


# --- the check ----------------------------------------------------------------

def tree_of(repo):
    files = {}
    for d, dirs, names in os.walk(repo):
        if ".git" in dirs:
            dirs.remove(".git")
        for n in names:
            p = os.path.join(d, n)
            files[os.path.relpath(p, repo)] = p
    return files


def same_file(a, b):
    sa, sb = os.lstat(a), os.lstat(b)
    if bool(sa.st_mode & stat.S_IXUSR) != bool(sb.st_mode & stat.S_IXUSR):
        return False
    if sa.st_size != sb.st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def check_tree(settings, groups, want, out, overlay_dests):
    ident = parse_ident(settings["author"], "patches/series-groups: author")
    date = source_date()
    touched = [f for p in want for f in touched_by(p)]
    patches = sorted(p for p in os.listdir(out)
                     if p.endswith(".patch") and not p.startswith("0000-"))

    # 1. git am onto a fresh repository of the pristine files.
    am = os.path.join(OUT, "am")
    make_base(am, touched, overlay_dests, ident, date)
    r = run(["git", "am", "-q", "--whitespace=error-all"] +
            [os.path.join(out, p) for p in patches], cwd=am, check=False)
    if r.returncode != 0:
        die("the series does not apply with git am:\n" + r.stdout)
    say("git am: %d patches applied to the pristine files" % len(patches))

    # 2. What scripts/tree.sh assembles from the same source, run for real
    #    on a scratch copy of the pristine files (its unpack step is skipped:
    #    the copy is marked unpacked).
    tb = os.path.join(OUT, "tree")
    shutil.rmtree(tb, ignore_errors=True)
    lin = os.path.join(tb, "linux")
    os.makedirs(lin)
    for f in set(touched):
        p = pristine(f, overlay_dests)
        if p:
            os.makedirs(os.path.dirname(os.path.join(lin, f)), exist_ok=True)
            shutil.copy2(p, os.path.join(lin, f))
    open(os.path.join(lin, ".unpacked"), "w").close()
    r = run([os.path.join(TOP, "scripts", "tree.sh")], env={"B": tb}, check=False)
    if r.returncode != 0:
        die("scripts/tree.sh on the pristine files failed:\n" + r.stdout)
    expect = {k: v for k, v in tree_of(lin).items() if not k.startswith(".")}

    # 3. The overlay files tree.sh does not copy (selftests, Documentation)
    #    are expected as the series maps them.
    for g in groups:
        for src, dst in g.files:
            if dst not in expect:
                expect[dst] = os.path.join(TOP, src)
    got = tree_of(am)
    errors = []
    for f in sorted(set(expect) | set(got)):
        if f not in got:
            errors.append("%s: in the tree tree.sh assembles, not in the series" % f)
        elif f not in expect:
            errors.append("%s: in the series, not in the tree tree.sh assembles" % f)
        elif not same_file(got[f], expect[f]):
            errors.append("%s: differs from the tree tree.sh assembles" % f)
    if errors:
        die("the series does not give the tree tree.sh assembles:\n  " +
            "\n  ".join(errors))
    say("tree: %d files, the same as scripts/tree.sh assembles" % len(got))

    # 4. When build/linux has the current patch series applied, its patched
    #    files must be these too.
    try:
        with open(os.path.join(B, "applied.sum")) as f:
            applied = f.read().strip()
    except OSError:
        applied = ""
    h = subprocess.run(["sha256sum"], input=b"".join(
        open(os.path.join(PATCHES, p), "rb").read() for p in want),
        stdout=subprocess.PIPE).stdout.decode().split()[0]
    if applied == h:
        bad = [f for f in sorted(set(touched))
               if os.path.exists(os.path.join(SRC, f)) != (f in got)
               or (f in got and not same_file(got[f], os.path.join(SRC, f)))]
        if bad:
            die("build/linux differs from the series in: " + ", ".join(bad))
        say("build/linux: its patched files are the series' files")
    else:
        say("build/linux: patch series not applied there yet (make tree); "
            "compared with a fresh tree.sh run only")


def parse_checkpatch(text):
    """[(level, TYPE, message, file or None)] from checkpatch --show-types."""
    out = []
    lines = text.split("\n")
    for i, l in enumerate(lines):
        m = re.match(r"(ERROR|WARNING|CHECK):([A-Z0-9_]+): (.*)", l)
        if not m:
            continue
        f = None
        for k in range(i + 1, min(i + 3, len(lines))):
            fm = re.match(r"#\d+: FILE: (\S+?):\d+:", lines[k])
            if fm:
                f = fm.group(1)
                break
        out.append((m.group(1), m.group(2), m.group(3), f, l if f is None else
                    l + "\n    " + lines[k].strip()))
    return out


def checkpatch(out, groups, allow):
    cp = os.path.join(SRC, "scripts", "checkpatch.pl")
    if not os.path.isfile(cp):
        die("%s missing (make tree)" % cp)
    patches = sorted(p for p in os.listdir(out)
                     if p.endswith(".patch") and not p.startswith("0000-"))
    if len(patches) != len(groups):
        die("%d patches for %d groups" % (len(patches), len(groups)))

    # checkpatch takes about 20 s of CPU for the whole series; its answer
    # for a patch is kept, keyed by the patch's text (without its number
    # in the series) and checkpatch's own files, so a run re-checks only
    # the patches that changed.
    cache = os.path.join(OUT, "checkpatch-cache")
    os.makedirs(cache, exist_ok=True)
    cwd = os.path.join(OUT, "checkpatch-cwd")
    os.makedirs(cwd, exist_ok=True)
    tool = hashlib.sha256()
    for f in ("checkpatch.pl", "spelling.txt", "const_structs.checkpatch"):
        try:
            with open(os.path.join(SRC, "scripts", f), "rb") as fh:
                tool.update(fh.read())
        except OSError:
            pass

    def one(p):
        with open(os.path.join(out, p), "rb") as fh:
            text = re.sub(rb"^Subject: \[PATCH [0-9]+/[0-9]+\]", b"Subject: [PATCH]",
                          fh.read(), count=1, flags=re.M)
        key = os.path.join(cache, hashlib.sha256(tool.digest() + text).hexdigest())
        try:
            with open(key) as fh:
                return p, fh.read(), key
        except OSError:
            pass
        # The kernel tree is checkpatch's root; it runs in a directory of
        # its own, where it keeps its CamelCase cache.  That directory has
        # no .git, so checkpatch takes the identifiers it knows from the
        # root's include/ and looks up no commit ids.
        r = subprocess.run(["perl", cp, "--root=" + SRC, "--strict", "--show-types",
                            "--no-summary", "--color=never", os.path.join(out, p)],
                           cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if r.returncode not in (0, 1):
            die("checkpatch failed on %s:\n%s" % (p, r.stdout))
        with open(key + ".tmp", "w") as fh:
            fh.write(r.stdout)
        os.replace(key + ".tmp", key)
        return p, r.stdout, key

    jobs = int(os.environ.get("JOBS") or os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        done = list(ex.map(one, patches))
    results = {p: r for p, r, _ in done}
    used = {k for _, _, k in done}
    for f in os.listdir(cache):
        if os.path.join(cache, f) not in used:
            os.remove(os.path.join(cache, f))

    failures = []
    signoff = 0
    for p, g in zip(patches, groups):
        for level, t, msg, f, full in parse_checkpatch(results[p]):
            if t == "MISSING_SIGN_OFF":
                signoff += 1
                continue
            if t in ACCEPTED_TYPES:
                continue
            # Known lines first (they name files), then accepted ones.
            hit = next((a for a in sorted(allow, key=lambda a: not a.known)
                        if a.takes(t, f) and (a.count is None or a.seen < a.count)),
                       None)
            if hit:
                hit.seen += 1
                continue
            failures.append("%s [%s]: %s" % (p, g.name, full))
    for a in allow:
        if a.count is not None and a.seen < a.count:
            print("series: note: %s: %s %s: %d findings now, the line says %d: "
                  "lower its count (or drop it)" % (a.where, a.type, a.pattern,
                                                    a.seen, a.count))
    todo = ["%s %s (%d)" % (a.type, os.path.basename(a.pattern), a.seen)
            for a in allow if a.known and a.seen]
    if todo:
        print(textwrap.fill("series: checkpatch findings still to fix "
                            "([checkpatch-known]): " + ", ".join(todo), 79,
                            subsequent_indent="  ", break_on_hyphens=False))
    if signoff != len(patches):
        failures.append("expected checkpatch to miss the sign-off in each of the "
                        "%d patches, it did in %d" % (len(patches), signoff))
    if failures:
        die("checkpatch --strict:\n  " + "\n  ".join(failures))
    nknown = sum(a.seen for a in allow if a.known)
    nacc = sum(a.seen for a in allow if not a.known)
    say("checkpatch --strict: %d patches: the missing sign-off, %d accepted "
        "and %d known findings (patches/series-groups), nothing else" %
        (len(patches), nacc, nknown))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="also apply it with git am, compare with tree.sh's "
                         "tree and run checkpatch --strict")
    args = ap.parse_args()
    t0 = time.time()
    for tool in ("git", "patch", "perl", "rsync"):
        if not shutil.which(tool):
            die("%s not found (make deps)" % tool)
    settings, groups, exclude, allow = parse_groups()
    want = assign(groups, exclude)
    work, base, out, overlay_dests = generate(settings, groups, want)
    n = len([p for p in os.listdir(out) if p.endswith(".patch")]) - 1
    rel = lambda p: os.path.relpath(p, TOP) if p.startswith(TOP + "/") else p
    say("%d patches and a cover letter in %s (commits in %s)" %
        (n, rel(out), rel(work)))
    if args.check:
        check_tree(settings, groups, want, out, overlay_dests)
        checkpatch(out, groups, allow)
    say("done in %.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
