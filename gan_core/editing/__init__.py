"""Editing faces: the current face, directions, galleries and scans, morphs, face math."""
