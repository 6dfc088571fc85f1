"""File names and line formats of the Instagram influencer dataset layout (Kim et al., WWW '20).

One place for the layout, shared by the reader and by the synthetic-world writer:

    influencers.txt                  Username<TAB>Category<TAB>#Followers<TAB>#Followees<TAB>#Posts
                                     (some copies have a separator line such as "=====" under it)
    JSON-Image_files_mapping.txt     influencer_name<TAB>JSON_PostMetadata_file_name<TAB>Image_file_name
                                     the last column is a Python list literal: ['123.jpg', '123_1.jpg']
    info/{username}-{json name}      one Instagram GraphQL post object per file (shipped zipped in parts)
    image/{username}-{image name}    JPEG
"""

from __future__ import annotations

INFLUENCERS_FILE = "influencers.txt"
MAPPING_FILE = "JSON-Image_files_mapping.txt"
INFO_DIR = "info"
IMAGE_DIR = "image"
INFO_SUFFIX = ".info"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")

INFLUENCERS_HEADER = ("Username", "Category", "#Followers", "#Followees", "#Posts")
MAPPING_HEADER = ("influencer_name", "JSON_PostMetadata_file_name", "Image_file_name")


def info_member_name(username: str, json_name: str) -> str:
    """Base name of a post's metadata file: the mapping names it without the username prefix."""
    return f"{username}-{json_name}"


def image_member_name(username: str, image_name: str) -> str:
    return f"{username}-{image_name}"


def post_id_of(json_name: str) -> str:
    """The post id is the metadata file name without its suffix: '1188140434601337485.info' -> '118...'."""
    return json_name[: -len(INFO_SUFFIX)] if json_name.endswith(INFO_SUFFIX) else json_name


def format_image_list(names: list[str] | tuple[str, ...]) -> str:
    """The mapping's image column, written as the Python list literal the public files use."""
    return repr(list(names))


def is_separator_line(line: str) -> bool:
    """A line of only '=', '-', '+', '|' and blanks (some copies underline the header with one)."""
    stripped = line.strip()
    return bool(stripped) and set(stripped) <= set("=-+| \t")
