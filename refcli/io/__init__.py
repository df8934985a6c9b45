"""Reading the archive: discovery, fingerprints, image and video decoding."""
