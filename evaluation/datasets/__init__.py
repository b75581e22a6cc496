"""QA benchmark datasets: one loader per published format, all giving `QAItem`s, and auto-detection."""

from evaluation.datasets.activitynet import load_activitynet
from evaluation.datasets.detect import LOADERS, detect_format, load_dataset
from evaluation.datasets.egoschema import load_egoschema
from evaluation.datasets.item import Dataset, QAItem
from evaluation.datasets.msrvtt import load_msrvtt
from evaluation.datasets.native import load_native, write_native
from evaluation.datasets.nextqa import load_nextqa
from evaluation.datasets.videomme import load_videomme

__all__ = [
    "LOADERS",
    "Dataset",
    "QAItem",
    "detect_format",
    "load_activitynet",
    "load_dataset",
    "load_egoschema",
    "load_msrvtt",
    "load_native",
    "load_nextqa",
    "load_videomme",
    "write_native",
]
