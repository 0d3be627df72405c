"""The course's models, one submodule per task; the names used in the notebooks are re-exported here."""
