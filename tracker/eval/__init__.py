"""MOTChallenge evaluation with TrackEval, and side-by-side comparison with Ultralytics' trackers."""
