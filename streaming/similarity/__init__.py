"""Similar-influencer search over attention-pooled embeddings (FAISS, exact or HNSW by size)."""

from streaming.similarity.index import SimilarityIndex, normalise

__all__ = ["SimilarityIndex", "normalise"]
