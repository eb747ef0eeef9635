"""The embedding cache: keys (:mod:`._keys`), shard files (:mod:`._shard`),
the disk store (:mod:`._store`) and the public handle (:mod:`._embedding_cache`)."""

from ._embedding_cache import EmbeddingCache, resolve_cache
from ._keys import digest, library_versions, namespace_of

__all__ = ["EmbeddingCache", "digest", "library_versions", "namespace_of", "resolve_cache"]
