"""Comments on objects, and threads of replies, as tracks (see README.txt)."""
