"""The authoring app (`intone author`). Logic modules (model, undo, journal, live) import no textual."""
