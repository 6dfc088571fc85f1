"""Readers of the Instagram influencer dataset layout (Kim et al., WWW '20), shared by the public
dataset and the synthetic world that is written in the same layout."""

from training.dataset.reader import InstagramDataset, open_dataset
from training.dataset.records import InfluencerRecord, PostRecord
from training.dataset.report import DatasetReport

__all__ = ["DatasetReport", "InfluencerRecord", "InstagramDataset", "PostRecord", "open_dataset"]
