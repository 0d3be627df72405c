"""Old home of the real datasets' downloader, kept so that ``cvlearn.download.fetch`` works:
everything here now lives in :mod:`cvlearn.data.download`."""

from .data.download import (
    SOURCES,
    Archive,
    ChecksumError,
    CorruptArchiveError,
    DataMissingError,
    DownloadError,
    RealDataError,
    Source,
    fetch,
    folder,
    is_complete,
    missing_message,
    missing_paths,
    source,
    url_server,
)

__all__ = [
    "SOURCES",
    "Archive",
    "ChecksumError",
    "CorruptArchiveError",
    "DataMissingError",
    "DownloadError",
    "RealDataError",
    "Source",
    "fetch",
    "folder",
    "is_complete",
    "missing_message",
    "missing_paths",
    "source",
    "url_server",
]
