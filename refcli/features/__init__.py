"""Per-person features measured at index time (clothing colours, faces) for referrers to use."""
