"""Personal favorites as tracks (see README.txt)."""
