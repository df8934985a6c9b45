"""Indexing: what a run is asked (options), what it finds to do (plan), how a file is decoded
(decode) and turned into rows (file_run), where that happens (local, or the Ray executor in
refcli.executors.ray_cluster) and how rows reach the database (writer). ``run_index`` ties them."""

from refcli.index.options import IndexOptions, IndexSummary, Problem, ProgressFactory, default_threads
from refcli.index.run import run_index

__all__ = ["IndexOptions", "IndexSummary", "Problem", "ProgressFactory", "default_threads", "run_index"]
