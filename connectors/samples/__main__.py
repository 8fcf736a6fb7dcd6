"""``python -m connectors.samples``: regenerate the shipped sample CSVs deterministically."""

from connectors.samples import CLASSIFIER_DIR, write_shipped_csvs

write_shipped_csvs()
print(f"wrote {CLASSIFIER_DIR / 'train.csv'} and {CLASSIFIER_DIR / 'test.csv'}")
