"""The faithfulness eval suite (see the eval issue). Nothing here yet."""
