"""Reading and writing: MOTChallenge files, frame sources, annotated video."""
