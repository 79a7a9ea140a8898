"""MOTChallenge evaluation with TrackEval, and side-by-side comparison with Ultralytics' and BoxMOT's trackers."""
