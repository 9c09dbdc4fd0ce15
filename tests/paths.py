"""Where the test data lives: the corpus of real third-party forms and submissions (see corpus/README.md)."""

from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
CORPUS_FORMS = CORPUS / "forms"
CORPUS_INSTANCES = CORPUS / "instances"
