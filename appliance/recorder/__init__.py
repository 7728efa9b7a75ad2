"""Recording: ffmpeg per camera, segment indexing and retention."""
