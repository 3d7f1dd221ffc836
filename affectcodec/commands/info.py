"""``affectcodec info``: print the header of ``.affc`` files as JSON."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "info", help="print the header of .affc files as JSON",
        description="Validate .affc files (header, payload, CRC) and print each header as JSON, "
                    "with the file's size and its bitrate. Several files give a JSON list.")
    parser.add_argument("files", nargs="+", metavar="FILE.affc")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from affectcodec import bitstream
    from affectcodec.commands._common import describe, error
    from affectcodec.errors import EXIT_FAILURE, EXIT_OK

    results, failed = [], False
    for name in args.files:
        try:
            header = bitstream.read_json(name)
        except Exception as exc:  # report, go on with the others
            error(f"{name}: {describe(exc)}")
            failed = True
            continue
        size = Path(name).stat().st_size
        duration = header["num_samples"] / header["sample_rate"]
        results.append({"file": name, "file_bytes": size,
                        "file_kbps": round(size * 8 / duration / 1000, 4),
                        "duration": duration, **header})
    if results:
        print(json.dumps(results[0] if len(args.files) == 1 else results, indent=2))
    return EXIT_FAILURE if failed else EXIT_OK
