"""The ``cvlearn`` command (also ``python -m cvlearn``).

    cvlearn data build NAME [--size S] [--seed S]   render every split of a toy dataset into datasets/
    cvlearn data verify NAME                         check the caches against their manifests
    cvlearn data export NAME --out DIR [--split S] [--format F]
    cvlearn data download NAME [--keep-archives]     fetch a real dataset
    cvlearn doctor                                   check the set-up
    cvlearn bench [--quick] [--only NAME] [--notebooks] [--compare] [--json PATH]
    cvlearn course student [--source DIR] [--out DIR] [--check]   write (or check) the student edition

``cvlearn data --help`` lists the dataset names, read from :mod:`cvlearn.data.registry`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _data(args: argparse.Namespace) -> int:
    from . import data, formats

    if args.action == "build":
        for path in data.build(args.name, root=args.root, size=args.size, seed=args.seed):
            print(f"ok  {data.display_path(path)}")
        return 0
    if args.action == "verify":
        report = data.verify(args.name, root=args.root)
        if not report:
            print(
                f"nothing cached for {args.name} under {data.display_path(args.root or data.default_root())}; "
                f"build it with: cvlearn data build {args.name}"
            )
            return 1
        for file, problem in report.items():
            print(f"{'ok ' if problem is None else 'BAD'} {file}{'' if problem is None else ': ' + problem}")
        return 0 if all(p is None for p in report.values()) else 1
    if args.action == "export":
        if args.format is not None and args.format not in formats.FORMATS:
            print(f"--format must be one of {', '.join(formats.FORMATS)}; got {args.format!r}", file=sys.stderr)
            return 2
        dataset = data.load(args.name, args.split, root=args.root, size=args.size, seed=args.seed)
        out = formats.export(dataset, Path(args.out) / args.split, args.format)
        print(f"wrote {len(dataset)} samples to {out}")
        return 0
    if args.action == "download":
        return _download(args)
    raise AssertionError(args.action)


def _download(args: argparse.Namespace) -> int:
    from .data import download

    try:
        download.fetch(args.name, root=args.root, keep_archives=args.keep_archives)
    except KeyboardInterrupt:
        print(f"\ninterrupted: run `cvlearn data download {args.name}` again to resume", file=sys.stderr)
        return 130
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from .checkup import doctor

    checks = doctor(root=args.root, network=not args.offline)
    return 1 if any(c.status == "fail" for c in checks) else 0


def _course(args: argparse.Namespace) -> int:
    from .course import student_edition

    edition = student_edition(args.source, args.out)
    if args.check:
        stale = edition.stale()
        if stale:
            print(f"the student edition in {edition.out} is stale:", file=sys.stderr)
            for line in stale:
                print(f"  {line}", file=sys.stderr)
            print("run `cvlearn course student` (or `make student`) and commit the result", file=sys.stderr)
            return 1
        print(f"ok  the student edition in {edition.out} matches {edition.source} ({len(edition.texts)} notebooks)")
        return 0
    changed = edition.write()
    for path in changed:
        print(f"{'wrote  ' if path.exists() else 'removed'} {path}")
    print(f"ok  {edition.out}: {len(edition.texts)} notebooks, {len(changed)} changed")
    return 0


def _bench(argv: list[str]) -> int:
    from . import bench

    return bench.main(argv)


def _names_help() -> str:
    """The dataset names the ``data`` command takes, from the registry."""
    from .data import registry

    return (
        f"dataset name: a toy one ({', '.join(registry.names('toy'))}) to build, verify or export, or a "
        f"real one ({', '.join(registry.names('real'))}) to download or export"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cvlearn", description="Tools of the cvlearn computer-vision course.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("data", help="build, verify or export a toy dataset; download a real one")
    d.add_argument("action", choices=["build", "verify", "export", "download"])
    # names are checked by cvlearn.data, whose one-line errors list them; argparse's choices would not
    d.add_argument("name", help=_names_help())
    d.add_argument(
        "--root",
        default=None,
        help="folder of the caches (default: the course's datasets/, or your "
        "user cache folder where that is read-only; `cvlearn doctor` says which)",
    )
    d.add_argument("--size", type=int, default=None, help="image side in pixels (default: the dataset's)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--split", default="train", choices=["train", "val", "test"], help="for export")
    # checked against cvlearn.formats.FORMATS when exporting: importing it here would load torch for --help
    d.add_argument("--format", default=None, help="for export: imagefolder, coco, voc, coco-keypoints or coco-panoptic")
    d.add_argument("--out", default="export", help="export folder (default: export)")
    d.add_argument("--keep-archives", action="store_true", help="for download: keep the archives after unpacking")
    d.set_defaults(func=_data)

    doc = sub.add_parser("doctor", help="check Python, torch, the data folder, the datasets and the network")
    doc.add_argument("--root", default=None)
    doc.add_argument("--offline", action="store_true", help="skip the network check")
    doc.set_defaults(func=_doctor)

    sub.add_parser("bench", help="score, time and memory of every recipe (see: cvlearn bench --help)")

    c = sub.add_parser("course", help="the course's editions: write the student edition from the notebooks")
    c.add_argument("action", choices=["student"], help="student: the notebooks with empty exercises, outputs cleared")
    c.add_argument("--source", default="notebooks", help="the complete edition (default: notebooks)")
    c.add_argument("--out", default=None, help="where the student edition goes (default: SOURCE/student)")
    c.add_argument("--check", action="store_true", help="write nothing; exit 1 if the student edition there is stale")
    c.set_defaults(func=_course)
    return p


def _tolerant_console() -> None:
    """Print what the console cannot encode as ``?`` instead of crashing on it.

    A Windows console in cp1252 has no ✓, ✗ or ×; ``doctor`` picks ASCII marks there, and this
    covers every other character (a dataset path, a table's ×).
    """
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and getattr(stream, "errors", "strict") == "strict":
            stream.reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _tolerant_console()
    if argv[:1] == ["bench"]:  # the benchmark has its own options: hand them over untouched
        return _bench(argv[1:])
    args = parser().parse_args(argv)
    from .data.download import RealDataError

    try:
        return args.func(args)
    except (ValueError, TypeError, RealDataError) as err:
        print(f"cvlearn: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
