"""Importers: turn files in every supported format into PaperRecord / Rejected streams.

Formats are told apart by content (:func:`detect_format`); one module per format holds its
parser, and the byte-level parsers (:func:`parse_atom`, :func:`parse_oai`, :func:`parse_hf_api`)
are what the network harvesters reuse on live responses.
"""

from __future__ import annotations

from .atom import AtomPage, parse_atom
from .common import FORMATS, UnknownFormat, rfc2822_to_iso, split_authors
from .detect import detect_format
from .files import expand_paths, parse_body, parse_file
from .hf_api import parse_hf_api
from .hf_page import parse_hf_page_text
from .json_list import parse_json_records
from .oai import OaiPage, parse_oai
from .snapshot import snapshot_record

__all__ = [
    "FORMATS",
    "AtomPage",
    "OaiPage",
    "UnknownFormat",
    "detect_format",
    "expand_paths",
    "parse_atom",
    "parse_body",
    "parse_file",
    "parse_hf_api",
    "parse_hf_page_text",
    "parse_json_records",
    "parse_oai",
    "rfc2822_to_iso",
    "snapshot_record",
    "split_authors",
]
