"""paperscope: self-hosted research-paper discovery.

The package is laid out as the pipeline it runs:
sources/harvest -> store -> index -> search/feeds -> web, mail, cli.
Stages talk to each other only through :mod:`paperscope.store`.
"""

__version__ = "0.1.0"
