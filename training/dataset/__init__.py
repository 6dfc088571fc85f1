"""Readers of the Instagram influencer dataset layout (Kim et al., WWW '20), shared by the public
dataset and the synthetic world that is written in the same layout."""
