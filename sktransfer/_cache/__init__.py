"""The embedding cache: keys (:mod:`._keys`), model fingerprints
(:mod:`._fingerprint`), shard files (:mod:`._shard`), the disk store
(:mod:`._store`), its index (:mod:`._index`), hit path (:mod:`._read`) and
upkeep (:mod:`._upkeep`), and the public handle (:mod:`._embedding_cache`)."""

from ._embedding_cache import EmbeddingCache, resolve_cache
from ._fingerprint import file_digest, model_fingerprint
from ._keys import digest, library_versions, namespace_of

__all__ = [
    "EmbeddingCache",
    "digest",
    "file_digest",
    "library_versions",
    "model_fingerprint",
    "namespace_of",
    "resolve_cache",
]
