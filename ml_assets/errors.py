"""The one error every model raises when there is too little data to train honestly; the
Dagster assets turn it into a skip with its message."""


class NotEnoughData(ValueError):
    """Too little data (a short series, few labelled rows or users); the message says
    how much there is and how much is needed."""
