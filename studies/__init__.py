"""ganbench studies: datasets, study specs, the runner CLI and the results tables."""
